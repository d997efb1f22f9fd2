import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {BACKUP_SUFFIX, clusterKubeconfigPath, lkeIdFromKubeconfig, mergeKubeconfig, removeClusterEntries, resolveKubeconfigTarget, writeClusterKubeconfig} from '../../src/kube/kubeconfig.js'
import {REPO} from '../helpers/cli.js'

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
    const tricky = {apiVersion: 'v1', kind: 'Config', clusters: [{name: 'yes', cluster: {server: 'https://[2001:db8::1]:6443', 'insecure-skip-tls-verify': true}}], users: [{name: 'on', user: {token: '0755', username: '1:20', password: '#not a comment: really'}}], contexts: [{name: 'off', context: {cluster: 'yes', user: 'on'}}], 'current-context': 'off', preferences: {}}
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

  it('two processes merging at once both land in a valid file', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    writeFileSync(target, EXISTING)
    const script = (id: number, name: string) => `
      const {mergeKubeconfig} = await import(${JSON.stringify(`${REPO}dist/kube/kubeconfig.js`)})
      const text = ${JSON.stringify(lkeKubeconfig(id))}
      for (let i = 0; i < 20; i++) await mergeKubeconfig(${JSON.stringify(target)}, text, {cluster: ${JSON.stringify(name)}})
    `
    const run = (code: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', code], {stdio: 'inherit'})
        child.on('close', resolve)
      })
    const codes = await Promise.all([run(script(100, 'one')), run(script(200, 'two')), run(script(300, 'three'))])
    expect(codes).toEqual([0, 0, 0])
    const merged = parse(readFileSync(target, 'utf8'))
    expect(merged.contexts.map((c: {name: string}) => c.name).sort()).toEqual(['fedobs-one', 'fedobs-three', 'fedobs-two', 'lke100-ctx', 'lke200-ctx', 'lke300-ctx', 'work'])
    expect(existsSync(`${target}.lock`)).toBe(false)
  })

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
