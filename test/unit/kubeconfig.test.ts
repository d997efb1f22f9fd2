import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {BACKUP_SUFFIX, clusterKubeconfigPath, lkeIdFromKubeconfig, mergeKubeconfig, removeClusterEntries, resolveKubeconfigTarget, writeClusterKubeconfig} from '../../src/kube/kubeconfig.js'

export function lkeKubeconfig(id: number, server = 'https://127.0.0.1:6443', token = `secret-token-${id}`): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: lke${id}
    cluster:
      server: ${server}
      certificate-authority-data: Q0E=
users:
  - name: lke${id}-admin
    user:
      token: ${token}
contexts:
  - name: lke${id}-ctx
    context:
      cluster: lke${id}
      user: lke${id}-admin
      namespace: default
current-context: lke${id}-ctx
`
}

function temp(): string {
  return mkdtempSync(path.join(tmpdir(), 'fedobs-kc-'))
}

const CHILD = fileURLToPath(new URL('./kubeconfig-child.ts', import.meta.url))
/** Under load a child can take seconds to start (tsx compiles the source); no step here waits on a clock otherwise. */
const EVENT_TIMEOUT_MS = 60_000

/** A separate process running src/kube/kubeconfig.ts from the source, driven step by step over IPC. */
function lockChild(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  const queue: unknown[] = []
  let waiting: ((message: unknown) => void) | undefined
  child.on('message', (message) => {
    if (waiting) {
      const resolve = waiting
      waiting = undefined
      resolve(message)
    } else queue.push(message)
  })
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve))
  return {
    pid: child.pid!,
    exit,
    send: (message: string) => child.send(message),
    /** The child's next event (in order); fails if it exits or stays silent first. */
    next: (): Promise<unknown> => {
      if (queue.length > 0) return Promise.resolve(queue.shift())
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event from the lock child within ${EVENT_TIMEOUT_MS} ms`)), EVENT_TIMEOUT_MS)
        void exit.then((code) => reject(new Error(`the lock child exited (${code}) before its next event`)))
        waiting = (message) => {
          clearTimeout(timer)
          resolve(message)
        }
      })
    },
  }
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  await new Promise((resolve) => child.on('close', resolve))
  return child.pid!
}

const EXISTING = `apiVersion: v1
kind: Config
clusters:
  - name: work
    cluster: {server: 'https://work.example.com'}
users:
  - name: me
    user: {token: mine}
contexts:
  - name: work
    context: {cluster: work, user: me}
current-context: work
preferences: {}
`

describe('kubeconfig merge', () => {
  it('adds the LKE entries and the fedobs-<name> alias, keeps everything else, writes 0600 with a backup', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    writeFileSync(target, EXISTING, {mode: 0o644})
    const result = await mergeKubeconfig(target, lkeKubeconfig(42), {cluster: 'edge-1'})
    const merged = parse(readFileSync(target, 'utf8'))
    expect(merged.clusters.map((c: {name: string}) => c.name)).toEqual(['work', 'lke42'])
    expect(merged.users.map((u: {name: string}) => u.name)).toEqual(['me', 'lke42-admin'])
    expect(merged.contexts.map((c: {name: string}) => c.name)).toEqual(['work', 'lke42-ctx', 'fedobs-edge-1'])
    expect(merged.contexts[2].context).toEqual({cluster: 'lke42', user: 'lke42-admin', namespace: 'default'})
    expect(merged['current-context']).toBe('work')
    expect(merged.preferences).toEqual({})
    expect(result).toMatchObject({alias: 'fedobs-edge-1', context: 'lke42-ctx', backup: `${target}${BACKUP_SUFFIX}`})
    expect(statSync(target).mode & 0o777).toBe(0o600)
    expect(readFileSync(`${target}${BACKUP_SUFFIX}`, 'utf8')).toBe(EXISTING)
    expect(statSync(`${target}${BACKUP_SUFFIX}`).mode & 0o777).toBe(0o600)
    expect(lkeIdFromKubeconfig(target, 'edge-1')).toBe(42)
  })

  it('writes values YAML 1.1 would misread (yes, on, 0755, 1:20, #, ": ") so that they read back as the same strings', async () => {
    // Given an existing kubeconfig whose names and values look like booleans, octal, sexagesimal, comments
    const dir = temp()
    const target = path.join(dir, 'config')
    const tricky = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: 'yes', cluster: {server: 'https://[2001:db8::1]:6443', 'insecure-skip-tls-verify': true}}],
      users: [{name: 'on', user: {token: '0755', username: '1:20', password: '#not a comment: really'}}],
      contexts: [{name: 'off', context: {cluster: 'yes', user: 'on'}}],
      'current-context': 'off',
      preferences: {},
    }
    writeFileSync(target, JSON.stringify(tricky), {mode: 0o600})
    // When fedobs merges a cluster into it
    await mergeKubeconfig(target, lkeKubeconfig(7), {cluster: 'edge-7'})
    const text = readFileSync(target, 'utf8')
    // Then every value reads back unchanged, under YAML 1.1 as kubectl reads it, and the new entries are there
    const merged = parse(text, {version: '1.1'})
    expect(merged.clusters[0]).toEqual(tricky.clusters[0])
    expect(merged.users[0]).toEqual(tricky.users[0])
    expect(merged.contexts[0]).toEqual(tricky.contexts[0])
    expect(merged['current-context']).toBe('off')
    expect(merged.contexts.map((c: {name: string}) => c.name)).toEqual(['off', 'lke7-ctx', 'fedobs-edge-7'])
    expect(text).not.toContain('{"')
  })

  it('switches current-context only when asked (or when there is none)', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    await mergeKubeconfig(target, lkeKubeconfig(1), {cluster: 'a'})
    expect(parse(readFileSync(target, 'utf8'))['current-context']).toBe('fedobs-a')
    await mergeKubeconfig(target, lkeKubeconfig(2), {cluster: 'b'})
    expect(parse(readFileSync(target, 'utf8'))['current-context']).toBe('fedobs-a')
    await mergeKubeconfig(target, lkeKubeconfig(2), {cluster: 'b', setCurrent: true})
    expect(parse(readFileSync(target, 'utf8'))['current-context']).toBe('fedobs-b')
  })

  it('is idempotent: merging the same cluster twice leaves one set of entries', async () => {
    const target = path.join(temp(), 'config')
    await mergeKubeconfig(target, lkeKubeconfig(7), {cluster: 'x'})
    await mergeKubeconfig(target, lkeKubeconfig(7, 'https://new.example.com'), {cluster: 'x'})
    const merged = parse(readFileSync(target, 'utf8'))
    expect(merged.clusters).toHaveLength(1)
    expect(merged.clusters[0].cluster.server).toBe('https://new.example.com')
    expect(merged.contexts).toHaveLength(2)
  })

  it('refuses a malformed kubeconfig with its file and line, and leaves it untouched', async () => {
    const target = path.join(temp(), 'config')
    const broken = 'apiVersion: v1\nclusters:\n  - name: a\n   bad: indent\n'
    writeFileSync(target, broken)
    await expect(mergeKubeconfig(target, lkeKubeconfig(3), {cluster: 'c'})).rejects.toThrow(new RegExp(`${target}:\\d+: not a valid kubeconfig`))
    expect(readFileSync(target, 'utf8')).toBe(broken)
    expect(existsSync(`${target}${BACKUP_SUFFIX}`)).toBe(false)
    writeFileSync(target, 'clusters: 5\n')
    await expect(mergeKubeconfig(target, lkeKubeconfig(3), {cluster: 'c'})).rejects.toThrow(/clusters must be a list/)
    expect(readFileSync(target, 'utf8')).toBe('clusters: 5\n')
  })

  it('three processes merging at once, from the source, past a stale lock of a dead process, all land in a valid file', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    writeFileSync(target, EXISTING)
    // A lock left by a crashed fedobs of an older version (it wrote only its pid).
    writeFileSync(`${target}.lock`, String(await deadPid()))
    const runs = [100, 200, 300].map((id) => {
      const file = path.join(dir, `lke${id}.yaml`)
      writeFileSync(file, lkeKubeconfig(id))
      return lockChild(['merge', target, ['one', 'two', 'three'][id / 100 - 1]!, file, '20']).exit
    })
    expect(await Promise.all(runs)).toEqual([0, 0, 0])
    const merged = parse(readFileSync(target, 'utf8'))
    expect(merged.contexts.map((c: {name: string}) => c.name).sort()).toEqual(['fedobs-one', 'fedobs-three', 'fedobs-two', 'lke100-ctx', 'lke200-ctx', 'lke300-ctx', 'work'])
    expect(readdirSync(dir).sort()).toEqual(['config', `config${BACKUP_SUFFIX}`, 'lke100.yaml', 'lke200.yaml', 'lke300.yaml'])
  }, 120_000)

  it('two waiters that both saw the same stale lock: one takes it over, the other waits for it (never both)', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    const stale = `${await deadPid()} ${hostname()} 0123456789abcdef`
    writeFileSync(`${target}.lock`, stale)
    const a = lockChild(['hold', target])
    const b = lockChild(['hold', target])
    // Given both waiters have judged the lock stale and stand just before taking it over,
    expect(await a.next()).toEqual({event: 'stale', owner: stale})
    expect(await b.next()).toEqual({event: 'stale', owner: stale})
    // when the first takes it over and holds it, and only then the second goes on,
    a.send('go')
    expect(await a.next()).toEqual({event: 'holding'})
    const held = readFileSync(`${target}.lock`, 'utf8')
    expect(held.startsWith(`${a.pid} `)).toBe(true)
    b.send('go')
    // then the second leaves the first's lock alone and waits on it.
    expect(await b.next()).toEqual({event: 'busy', owner: held})
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe(held)
    a.send('release')
    expect(await a.exit).toBe(0)
    expect(await b.next()).toEqual({event: 'holding'})
    b.send('release')
    expect(await b.exit).toBe(0)
    expect(readdirSync(dir)).toEqual([])
  }, 120_000)

  it("a holder whose lock was taken over as stale does not remove its successor's lock on release", async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    const a = lockChild(['hold', target])
    expect(await a.next()).toEqual({event: 'holding'})
    const first = readFileSync(`${target}.lock`, 'utf8')
    // The holder is alive but its lock looks 31 s old (a suspended process, or a lock from another host).
    const past = new Date(Date.now() - 31_000)
    utimesSync(`${target}.lock`, past, past)
    const b = lockChild(['hold', target])
    expect(await b.next()).toEqual({event: 'stale', owner: first})
    b.send('go')
    expect(await b.next()).toEqual({event: 'holding'})
    const second = readFileSync(`${target}.lock`, 'utf8')
    expect(second.startsWith(`${b.pid} `)).toBe(true)
    a.send('release')
    expect(await a.exit).toBe(0)
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe(second)
    b.send('release')
    expect(await b.exit).toBe(0)
    expect(readdirSync(dir)).toEqual([])
  }, 120_000)

  it('waits on the lock of a live process instead of taking it over', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    const live = `${process.pid} ${hostname()} fedcba9876543210`
    writeFileSync(`${target}.lock`, live)
    const b = lockChild(['hold', target])
    expect(await b.next()).toEqual({event: 'busy', owner: live})
    expect(readFileSync(`${target}.lock`, 'utf8')).toBe(live)
    unlinkSync(`${target}.lock`)
    expect(await b.next()).toEqual({event: 'holding'})
    b.send('release')
    expect(await b.exit).toBe(0)
    expect(readdirSync(dir)).toEqual([])
  }, 120_000)

  it('removes exactly the entries fedobs added for a cluster, and the current-context if it was one of them', async () => {
    const target = path.join(temp(), 'config')
    writeFileSync(target, EXISTING)
    await mergeKubeconfig(target, lkeKubeconfig(5), {cluster: 'gone', setCurrent: true})
    await mergeKubeconfig(target, lkeKubeconfig(6), {cluster: 'stays'})
    const {removed} = await removeClusterEntries(target, 'gone')
    expect(removed).toEqual({clusters: ['lke5'], users: ['lke5-admin'], contexts: ['lke5-ctx', 'fedobs-gone']})
    const after = parse(readFileSync(target, 'utf8'))
    expect(after.contexts.map((c: {name: string}) => c.name)).toEqual(['work', 'lke6-ctx', 'fedobs-stays'])
    expect(after['current-context']).toBeUndefined()
    expect((await removeClusterEntries(target, 'gone')).removed.contexts).toEqual([])
  })

  it('writes the per-cluster file 0600 in a 0700 directory', () => {
    const target = path.join(temp(), 'config')
    const file = clusterKubeconfigPath(target, 'edge-1')
    writeClusterKubeconfig(file, lkeKubeconfig(9))
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
  })

  it('merges into --kubeconfig, else the first KUBECONFIG file, else ~/.kube/config', () => {
    expect(resolveKubeconfigTarget('/x/flag', {KUBECONFIG: '/a:/b'})).toBe('/x/flag')
    expect(resolveKubeconfigTarget(undefined, {KUBECONFIG: `/a${path.delimiter}/b`})).toBe('/a')
    expect(resolveKubeconfigTarget(undefined, {HOME: '/home/u'})).toBe('/home/u/.kube/config')
  })
})
