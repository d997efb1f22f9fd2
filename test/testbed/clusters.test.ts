import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import type {V1Pod} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {REPO} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import type {TestCluster} from '../../src/sandbox/testbed/cluster.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {GPU_RESOURCE, KWOK_ANNOTATION} from '../../src/sandbox/testbed/nodes.js'
import {startTestbed, TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'

const binaries = requireBinaries(TESTBED_BINARIES)

/** A zombie (exited, not yet reaped by its new parent) counts as gone. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

function gpuPod(name: string): V1Pod {
  return {
    metadata: {name},
    spec: {containers: [{name: 'infer', image: 'brianapley/bert-inference:gpu-v2', resources: {limits: {[GPU_RESOURCE]: '1'}}}]},
  }
}

describe.skipIf(!binaries.ok)('test bed: real control planes on one etcd, kwok nodes', () => {
  let testbed: Testbed
  let a: TestCluster
  let b: TestCluster
  let startMs = 0

  beforeAll(async () => {
    testbed = await startTestbed()
    const started = Date.now()
    ;[a, b] = await Promise.all([testbed.addCluster({name: 'alpha', lkeId: 1001}), testbed.addCluster({name: 'beta'})])
    startMs = Date.now() - started
  })

  afterAll(async () => {
    await testbed?.stop()
  })

  it('starts two clusters concurrently, each with an LKE-shaped, self-contained kubeconfig', () => {
    process.stderr.write(`[testbed] two clusters started in ${startMs} ms; RSS ${Math.round(testbed.rssMiB())} MiB\n`)
    expect(startMs).toBeLessThan(60_000)
    const config = parse(a.kubeconfig)
    expect(config.clusters[0].name).toBe('lke1001')
    expect(config.clusters[0].cluster.server).toBe(a.server)
    expect(config.clusters[0].cluster['certificate-authority-data']).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(config.users[0]).toEqual({name: 'lke1001-admin', user: {token: a.token}})
    expect(config.contexts[0]).toEqual({name: 'lke1001-ctx', context: {cluster: 'lke1001', namespace: 'default', user: 'lke1001-admin'}})
    expect(config['current-context']).toBe('lke1001-ctx')
    expect(parse(b.kubeconfig)['current-context']).toBe('beta-ctx')
    expect(new URL(a.server).hostname).toBe('127.0.0.1')
    expect(a.server).not.toBe(b.server)
  })

  it('keeps the two clusters independent: own objects, own nodes, own etcd prefix', async () => {
    const [ca, cb] = [a.clients().core, b.clients().core]
    await ca.createNamespace({body: {metadata: {name: 'only-in-alpha'}}})
    await ca.createNamespacedConfigMap({namespace: 'only-in-alpha', body: {metadata: {name: 'marker'}, data: {cluster: 'alpha'}}})
    await a.addNode({plan: 'g6-standard-2', poolId: 7, instanceId: 5001})

    expect((await cb.listNamespace()).items.map((n) => n.metadata?.name)).not.toContain('only-in-alpha')
    expect((await cb.listNode()).items).toEqual([])
    expect((await ca.readNamespacedConfigMap({name: 'marker', namespace: 'only-in-alpha'})).data).toEqual({cluster: 'alpha'})

    // In etcd, alpha's objects live under /fedobs-alpha and nothing of it under /fedobs-beta.
    const count = async (keyOrPrefix: string): Promise<number> => {
      const key = Buffer.from(keyOrPrefix).toString('base64')
      // A key ending in / is a prefix: the range ends where the prefix ends ('/' + 1 = '0').
      const range = keyOrPrefix.endsWith('/') ? {range_end: Buffer.from(`${keyOrPrefix.slice(0, -1)}0`).toString('base64')} : {}
      const response = await fetch(`${testbed.etcdUrl}/v3/kv/range`, {method: 'POST', body: JSON.stringify({key, ...range, count_only: true})})
      return Number(((await response.json()) as {count?: string}).count ?? 0)
    }
    expect(await count('/fedobs-alpha/configmaps/only-in-alpha/marker')).toBe(1)
    expect(await count('/fedobs-beta/configmaps/only-in-alpha/')).toBe(0)
    expect(await count('/fedobs-beta/namespaces/')).toBeGreaterThan(0)
  })

  it('adds nodes shaped like LKE nodes, kept Ready by kwok', async () => {
    const node = await a.addNode({plan: 'g6-standard-4', poolId: 452001, instanceId: 71000042, region: 'us-ord', suffix: '0a1b2c3d'})
    expect(node.metadata?.name).toBe('lke1001-452001-0a1b2c3d')
    expect(node.metadata?.labels).toMatchObject({
      'node.kubernetes.io/instance-type': 'g6-standard-4',
      'lke.linode.com/pool-id': '452001',
      'topology.kubernetes.io/region': 'us-ord',
      'kubernetes.io/hostname': 'lke1001-452001-0a1b2c3d',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    })
    expect(node.metadata?.annotations?.[KWOK_ANNOTATION]).toBe('fake')
    expect(node.spec?.providerID).toBe('linode://71000042')
    expect(node.status?.capacity).toMatchObject({cpu: '4', memory: '8Gi', pods: '110'})
    const internal = node.status?.addresses?.find((x) => x.type === 'InternalIP')?.address
    expect(internal).toMatch(/^127\./)

    const {core} = a.clients()
    const ready = await waitFor(
      async () => {
        const current = await core.readNode({name: 'lke1001-452001-0a1b2c3d'})
        return current.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? current : undefined
      },
      {timeoutMs: 30_000, what: 'kwok to mark the node Ready'},
    )
    expect(ready.status?.addresses?.find((x) => x.type === 'InternalIP')?.address).toBe(internal)
    expect(ready.status?.capacity?.cpu).toBe('4')
  })

  it('schedules a GPU pod only on a GPU node (which may join late); a second one stays Pending: Insufficient nvidia.com/gpu', async () => {
    const {core} = a.clients()
    // Every node Ready and untainted first (a node kwok has not marked Ready yet carries the
    // not-ready taint, and the scheduler would give that reason instead of the GPU one).
    await waitFor(
      async () => {
        const nodes = (await core.listNode()).items
        return nodes.length > 0 && nodes.every((n) => (n.spec?.taints ?? []).length === 0 && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined
      },
      {timeoutMs: 30_000, what: 'every node Ready without taints'},
    )
    await core.createNamespacedPod({namespace: 'default', body: gpuPod('infer-1')})
    const unschedulable = async (name: string): Promise<string | undefined> => {
      const pod = await core.readNamespacedPod({name, namespace: 'default'})
      const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')
      return condition?.message
    }
    // No GPU node yet: the standard nodes do not fit.
    expect(await waitFor(() => unschedulable('infer-1'), {timeoutMs: 30_000, what: 'infer-1 to be Unschedulable'})).toContain(`Insufficient ${GPU_RESOURCE}`)

    const gpu = await a.addNode({plan: 'g2-gpu-rtx4000a1-s', poolId: 452002, instanceId: 71000050})
    expect(gpu.status?.capacity).toMatchObject({cpu: '4', memory: '16Gi', [GPU_RESOURCE]: '1'})
    // fedobs has to label GPU nodes itself: LKE does not.
    expect(gpu.metadata?.labels?.['nvidia.com/gpu.present']).toBeUndefined()

    const running = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({name: 'infer-1', namespace: 'default'})
        return pod.status?.phase === 'Running' ? pod : undefined
      },
      {timeoutMs: 45_000, what: 'infer-1 to run on the GPU node'},
    )
    expect(running.spec?.nodeName).toBe(gpu.metadata?.name)

    await core.createNamespacedPod({namespace: 'default', body: gpuPod('infer-2')})
    const message = await waitFor(() => unschedulable('infer-2'), {timeoutMs: 30_000, what: 'infer-2 to be Unschedulable'})
    expect(message).toMatch(new RegExp(`0/\\d+ nodes are available: .*\\d+ Insufficient ${GPU_RESOURCE.replace('.', '\\.')}`))
    expect((await core.readNamespacedPod({name: 'infer-2', namespace: 'default'})).status?.phase).toBe('Pending')
  })

  it('removes a node', async () => {
    await a.addNode({plan: 'g6-standard-2', poolId: 9, instanceId: 6001, suffix: 'deadbeef'})
    await a.removeNode('lke1001-9-deadbeef')
    await a.removeNode('lke1001-9-deadbeef') // already gone is fine
    const names = (await a.clients().core.listNode()).items.map((n) => n.metadata?.name)
    expect(names).not.toContain('lke1001-9-deadbeef')
  })

  it('stop() ends every process and removes its directory', async () => {
    const pids = testbed.pids()
    expect(pids.length).toBe(1 + 2 * 4)
    await testbed.stop()
    expect(pids.filter(alive)).toEqual([])
    expect(existsSync(testbed.dir)).toBe(false)
  })

  it('leaves no process and no directory behind when the process that started them is SIGKILLed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/testbed/orphan-check.ts'], {cwd: REPO, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    const started = await waitFor(() => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as {pids: number[]; dir: string}) : undefined), {
      timeoutMs: 60_000,
      what: 'the child to start a test bed',
    })
    expect(started.pids.length).toBe(5)
    expect(started.pids.every(alive)).toBe(true)
    child.kill('SIGKILL')
    await waitFor(() => started.pids.every((pid) => !alive(pid)) && !existsSync(started.dir), {timeoutMs: 15_000, what: `the watchdog to kill ${started.pids.join(', ')} and remove ${started.dir}`})
  })
})
