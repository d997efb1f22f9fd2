import {mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/** A Secret volume as the kubelet writes it (atomic writer). */
export class SecretVolume {
  private generation = 0
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true})
  }

  /** Replace the whole content: a new timestamped directory, then `..data` swapped to it. */
  write(files: Record<string, string>): void {
    const name = `..${Date.now()}_${++this.generation}`
    const target = path.join(this.dir, name)
    mkdirSync(target)
    for (const [key, value] of Object.entries(files)) writeFileSync(path.join(target, key), value, {mode: 0o440})
    const tmp = path.join(this.dir, '..data_tmp')
    rmSync(tmp, {force: true})
    symlinkSync(name, tmp)
    renameSync(tmp, path.join(this.dir, '..data'))
    for (const key of Object.keys(files)) {
      const link = path.join(this.dir, key)
      try {
        symlinkSync(path.join('..data', key), link)
      } catch {
        // already a link through ..data
      }
    }
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith('..') && entry !== '..data' && entry !== name) rmSync(path.join(this.dir, entry), {recursive: true, force: true})
    }
  }
}

const SECRET_MOUNTS = '/etc/otelcol/'

/**
 * A collector config with every Secret mount path (/etc/otelcol/<name>/...) in its extensions,
 * receivers and exporters pointing at the local directory that stands in for it. An unmapped mount
 * is an error, never left to fail later.
 */
export function withMounts<T>(config: T, mounts: Record<string, string>): T {
  const copy = structuredClone(config) as Record<string, unknown>
  const rewrite = (node: unknown): unknown => {
    if (typeof node === 'string') {
      if (!node.startsWith(SECRET_MOUNTS)) return node
      const mount = Object.keys(mounts).find((m) => node === m || node.startsWith(`${m}/`))
      if (!mount) throw new Error(`no local directory for the Secret mount of ${node}`)
      return `${mounts[mount]}${node.slice(mount.length)}`
    }
    if (Array.isArray(node)) return node.map(rewrite)
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v)]))
    return node
  }
  for (const section of ['extensions', 'receivers', 'exporters']) if (copy[section]) copy[section] = rewrite(copy[section])
  return copy as T
}
