import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {CLUSTER} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

interface Page<T> {
  data: T[]
  page: number
  pages: number
  results: number
}
interface Cluster {
  id: number
  label: string
  status: string
  tags: string[]
}
interface RequestConfig {
  url?: string
}
type Payload = Record<string, unknown>

/**
 * The part of @linode/api-v4 this test calls. Its .d.ts files re-export without file extensions,
 * which NodeNext resolution does not follow, so the surface is declared here (as in src/linode).
 */
interface ApiV4 {
  setToken(token: string): number
  baseRequest: {interceptors: {request: {use(fn: (config: RequestConfig) => RequestConfig): number}}}
  getRegions(params?: {page_size?: number}): Promise<Page<{id: string; capabilities: string[]}>>
  getKubernetesVersions(): Promise<Page<{id: string}>>
  createKubernetesCluster(payload: Payload): Promise<Cluster>
  getKubernetesClusters(params: {page?: number; page_size?: number}, filter: Payload): Promise<Page<Cluster>>
  getKubernetesCluster(id: number): Promise<Cluster>
  deleteKubernetesCluster(id: number): Promise<unknown>
  getKubeConfig(id: number): Promise<{kubeconfig: string}>
  getNodePools(id: number): Promise<Page<{type: string; count: number; nodes: {status: string; instance_id: number | null}[]}>>
  getNodeBalancers(): Promise<Page<{id: number; lke_cluster: {id: number} | null}>>
}

const linode = (await import('@linode/api-v4')) as unknown as ApiV4
let fake: FakeLinode

beforeAll(async () => {
  fake = await startFakeLinode({timeline: {kubeconfigReadySeconds: 100}})
  // As NOTES.md describes: the token interceptor, plus one that points the absolute URLs at the fake.
  linode.setToken(fake.token)
  linode.baseRequest.interceptors.request.use((config) => {
    config.url = config.url?.replace('https://api.linode.com', fake.url)
    return config
  })
})

afterAll(async () => {
  await fake.close()
})

/** The AxiosError fields we read (axios is @linode/api-v4's dependency, not ours). */
interface HttpError {
  isAxiosError: true
  response?: {status: number; data: any; headers: Record<string, string>}
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  )
}

async function httpError(promise: Promise<unknown>): Promise<HttpError> {
  const error = await rejection(promise)
  expect(error).toBeInstanceOf(Error)
  expect((error as HttpError).isAxiosError).toBe(true)
  return error as HttpError
}

describe('@linode/api-v4 0.158 against the fake', () => {
  let id: number

  it('reads regions and Kubernetes versions (both on /v4beta)', async () => {
    const regions = await linode.getRegions({page_size: 500})
    expect(regions.results).toBe(regions.data.length)
    expect(regions.data.find((r) => r.id === 'us-ord')?.capabilities).toContain('Kubernetes')
    const versions = await linode.getKubernetesVersions()
    expect(versions.data.map((v) => v.id)).toEqual(['1.34', '1.33', '1.32'])
    expect(fake.state.requests.map((r) => r.path)).toEqual(['/v4beta/regions?page_size=500', '/v4beta/lke/versions'])
  })

  it('creates a cluster (tags pass through although the payload type lacks them) and finds it by label', async () => {
    const cluster = await linode.createKubernetesCluster(CLUSTER)
    id = cluster.id
    expect(cluster).toMatchObject({label: CLUSTER.label, status: 'not_ready', tags: CLUSTER.tags})
    const found = await linode.getKubernetesClusters({page: 1, page_size: 25}, {label: CLUSTER.label})
    expect(found.data.map((c) => c.id)).toEqual([id])
    expect(fake.state.requests.at(-1)).toMatchObject({path: '/v4beta/lke/clusters?page=1&page_size=25', xFilter: JSON.stringify({label: CLUSTER.label})})
  })

  it('rejects a bad region with an AxiosError carrying the API errors', async () => {
    const error = await httpError(linode.createKubernetesCluster({...CLUSTER, region: 'mars-1'}))
    expect(error.response?.status).toBe(400)
    expect(error.response?.data).toEqual({errors: [{field: 'region', reason: 'region is not valid'}]})
  })

  it('rejects an empty pool list on the client, without a request, with a plain APIError[]', async () => {
    const sent = fake.state.requests.length
    const error = await rejection(linode.createKubernetesCluster({...CLUSTER, node_pools: []}))
    expect(error).toEqual([{field: 'node_pools', reason: 'Please add at least one node pool.'}])
    expect(fake.state.requests.length).toBe(sent)
  })

  it('gets 503 for the kubeconfig first, then the kubeconfig', async () => {
    const early = await httpError(linode.getKubeConfig(id))
    expect(early.response?.status).toBe(503)
    expect(early.response?.headers['retry-after']).toBe('20')
    expect(early.response?.data.errors[0]?.reason).toBe('Cluster kubeconfig is not yet available. Please try again later.')
    fake.advance(100)
    const {kubeconfig} = await linode.getKubeConfig(id)
    expect(parse(Buffer.from(kubeconfig, 'base64').toString('utf8')).contexts[0].name).toBe(`lke${id}-ctx`)
  })

  it('reads node pools and NodeBalancers (with lke_cluster), then deletes the cluster', async () => {
    const pools = await linode.getNodePools(id)
    expect(pools.data.map((p) => [p.type, p.count, p.nodes.length])).toEqual([
      ['g6-standard-4', 3, 3],
      ['g2-gpu-rtx4000a1-s', 1, 1],
    ])
    expect(pools.data[0]!.nodes.every((n) => n.status === 'ready' && typeof n.instance_id === 'number')).toBe(true)
    fake.addNodeBalancer({clusterId: id})
    const nodeBalancers = await linode.getNodeBalancers()
    expect(nodeBalancers.data.map((nb) => nb.lke_cluster?.id)).toEqual([id])
    await linode.deleteKubernetesCluster(id)
    const gone = await httpError(linode.getKubernetesCluster(id))
    expect(gone.response?.status).toBe(404)
    expect((await linode.getNodeBalancers()).results).toBe(1)
  })

  it('got only answers that match the spec, and the token stayed out of the log', () => {
    expect(fake.state.violations).toEqual([])
    expect(JSON.stringify(fake.state.requests)).not.toContain(fake.token)
    expect(fake.state.requests.every((r) => r.status !== 401)).toBe(true)
  })
})
