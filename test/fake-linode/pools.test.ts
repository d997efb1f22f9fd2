import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CLUSTER} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

interface Node {
  id: string
  instance_id: number | null
  status: string
}
interface Pool {
  id: number
  type: string
  count: number
  autoscaler: {enabled: boolean; min: number; max: number}
  nodes: Node[]
}
interface RequestConfig {
  url?: string
}

/** The node pool calls of @linode/api-v4 (declared here: its .d.ts files do not resolve under NodeNext). */
interface ApiV4 {
  setToken(token: string): number
  baseRequest: {interceptors: {request: {use(fn: (config: RequestConfig) => RequestConfig): number}}}
  createKubernetesCluster(payload: Record<string, unknown>): Promise<{id: number}>
  getNodePools(id: number): Promise<{data: Pool[]}>
  createNodePool(clusterId: number, data: Record<string, unknown>): Promise<Pool>
  updateNodePool(clusterId: number, poolId: number, data: Record<string, unknown>): Promise<Pool>
  deleteNodePool(clusterId: number, poolId: number): Promise<unknown>
}

const linode = (await import('@linode/api-v4')) as unknown as ApiV4
let fake: FakeLinode

beforeAll(async () => {
  fake = await startFakeLinode({manualClock: true})
  linode.setToken(fake.token)
  linode.baseRequest.interceptors.request.use((config) => {
    config.url = config.url?.replace('https://api.linode.com', fake.url)
    return config
  })
})

afterAll(async () => {
  await fake.close()
})

async function status(promise: Promise<unknown>): Promise<{status: number; data: unknown}> {
  const error = (await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  )) as {response: {status: number; data: unknown}}
  return {status: error.response.status, data: error.response.data}
}

describe('node pool endpoints of the fake, through @linode/api-v4, checked against the spec', () => {
  let clusterId: number
  let first: Pool

  it('adds a pool to a live cluster; its nodes start their own timeline', async () => {
    clusterId = (await linode.createKubernetesCluster(CLUSTER)).id
    fake.advance(600)
    ;[first] = (await linode.getNodePools(clusterId)).data as [Pool]
    expect(first.nodes.every((n) => n.status === 'ready')).toBe(true)
    const added = await linode.createNodePool(clusterId, {type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}})
    expect(added).toMatchObject({type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}})
    expect(added.nodes.map((n) => [n.status, n.instance_id])).toEqual([
      ['not_ready', null],
      ['not_ready', null],
    ])
    fake.advance(600)
    const later = (await linode.getNodePools(clusterId)).data.find((p) => p.id === added.id)!
    expect(later.nodes.every((n) => n.status === 'ready' && typeof n.instance_id === 'number')).toBe(true)
  })

  it('resizes a pool up (new nodes not ready yet) and down (the newest go), and sets its autoscaler', async () => {
    const before = first.nodes.map((n) => n.id)
    const up = await linode.updateNodePool(clusterId, first.id, {count: first.count + 1})
    expect(up.count).toBe(first.count + 1)
    expect(up.nodes.slice(0, -1).map((n) => n.id)).toEqual(before)
    expect(up.nodes.at(-1)!.status).toBe('not_ready')
    const down = await linode.updateNodePool(clusterId, first.id, {count: 1, autoscaler: {enabled: true, min: 1, max: 5}})
    expect(down.nodes.map((n) => n.id)).toEqual(before.slice(0, 1))
    expect(down.autoscaler).toEqual({enabled: true, min: 1, max: 5})
  })

  it('refuses an autoscaler with min above max, an unknown type, and a pool of another cluster', async () => {
    expect((await status(linode.updateNodePool(clusterId, first.id, {autoscaler: {enabled: true, min: 5, max: 2}}))).status).toBe(400)
    expect(await status(linode.createNodePool(clusterId, {type: 'g6-nonsense', count: 1}))).toEqual({status: 400, data: {errors: [{field: 'type', reason: 'type is not valid'}]}})
    const other = (await linode.createKubernetesCluster({...CLUSTER, label: 'other-cluster'})).id
    expect((await status(linode.updateNodePool(other, first.id, {count: 2}))).status).toBe(404)
  })

  it('deletes a pool, but never the last one', async () => {
    const pools = (await linode.getNodePools(clusterId)).data
    for (const pool of pools.slice(1)) await linode.deleteNodePool(clusterId, pool.id)
    expect((await linode.getNodePools(clusterId)).data.map((p) => p.id)).toEqual([pools[0]!.id])
    expect((await status(linode.deleteNodePool(clusterId, pools[0]!.id))).status).toBe(400)
  })

  it('answered only within the spec', () => {
    expect(fake.state.violations).toEqual([])
    expect(fake.state.requests.filter((r) => r.method === 'PUT' || (r.method === 'POST' && r.path.endsWith('/pools'))).length).toBeGreaterThanOrEqual(4)
  })
})
