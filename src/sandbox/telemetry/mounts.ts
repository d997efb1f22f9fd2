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
