import {isIPv4, isIPv6} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CLUSTER, client, type Client} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type ApiInstance, type FakeLinode} from '../../src/sandbox/linode/server.js'

interface Page<T> {
  data: T[]
  page: number
  pages: number
  results: number
}

/** The part of @linode/api-v4 0.158 this file calls (declared here, as in src/linode). */
interface ApiV4 {
  setToken(token: string): number
  baseRequest: {interceptors: {request: {use(fn: (config: {url?: string}) => {url?: string}): number}}}
  getLinodes(params?: {page?: number; page_size?: number}, filter?: Record<string, unknown>): Promise<Page<ApiInstance>>
  getLinode(id: number): Promise<ApiInstance>
}

const linode = (await import('@linode/api-v4')) as unknown as ApiV4
let fake: FakeLinode
let api: Client

beforeAll(async () => {
  fake = await startFakeLinode()
  api = client(fake)
  linode.setToken(fake.token)
  linode.baseRequest.interceptors.request.use((config) => {
    config.url = config.url?.replace('https://api.linode.com', fake.url)
    return config
  })
})

afterAll(async () => {
  await fake.close()
})

const PUBLIC = /^(203\.0\.113|198\.51\.100)\.\d+$/

describe('Linodes behind LKE pool nodes', () => {
  let clusterId: number
  let standardIds: number[]

  it('has none while the pool nodes have no instance yet, and answers 404 for their ids', async () => {
    clusterId = (await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})).body.id
    expect((await api.call('GET', '/v4/linode/instances')).body).toEqual({data: [], page: 1, pages: 1, results: 0})
    const planned = fake.state.pools.values().next().value!.nodes[0]!.instanceId
    expect((await api.call('GET', `/v4/linode/instances/${planned}`)).body).toEqual({errors: [{reason: 'Not found'}]})
  })

  it('shows a Linode per node once its instance exists: LKE label, public and private IPv4, SLAAC IPv6, cluster id, plan', async () => {
    fake.advance(40) // standard nodes get their Linodes; the GPU pool's come at 60 s
    const pools = (await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools`)).body.data as {id: number; type: string; nodes: {id: string; instance_id: number | null}[]}[]
    const standard = pools.find((p) => p.type === 'g6-standard-4')!
    standardIds = standard.nodes.map((n) => n.instance_id!)
    const listed = (await api.call('GET', '/v4/linode/instances')).body as Page<ApiInstance>
    expect(listed.data.map((i) => i.id)).toEqual(standardIds)
    for (const node of standard.nodes) {
      const instance = (await api.call('GET', `/v4/linode/instances/${node.instance_id}`)).body as ApiInstance
      expect(instance).toMatchObject({
        id: node.instance_id,
        label: `lke${clusterId}-${node.id}`,
        lke_cluster_id: clusterId,
        type: 'g6-standard-4',
        region: 'us-ord',
        status: 'running',
        specs: {vcpus: 4, memory: 8192, disk: 163_840, gpus: 0, transfer: 5000},
        image: null,
        placement_group: null,
      })
      const [publicIPv4, privateIPv4, ...more] = instance.ipv4
      expect(more).toEqual([])
      expect(publicIPv4).toMatch(PUBLIC)
      expect(privateIPv4).toMatch(/^192\.168\.(12[89]|1[3-9]\d|2[0-5]\d)\.\d+$/)
      expect(instance.ipv6).toMatch(/^2001:db8:[0-9a-f:]+\/128$/)
      expect(isIPv6(instance.ipv6!.replace('/128', ''))).toBe(true)
    }
    fake.advance(20)
    expect((await api.call('GET', '/v4/linode/instances')).body.results).toBe(4)
  })

  it('gives every Linode its own addresses, across clusters too', () => {
    fake.addCluster({...CLUSTER, label: 'second'}, {ageSeconds: 600})
    const instances = fake.view().instances
    expect(instances).toHaveLength(8)
    for (const key of ['public', 'private', 'ipv6'] as const) {
      const values = instances.map((i) => (key === 'public' ? i.ipv4[0] : key === 'private' ? i.ipv4[1] : i.ipv6))
      expect(new Set(values).size, key).toBe(8)
    }
    expect(instances.every((i) => isIPv4(i.ipv4[0]!) && PUBLIC.test(i.ipv4[0]!))).toBe(true)
  })

  it('finds Linodes by id with an X-Filter "+or" in one page of up to 500, and pages smaller pages', async () => {
    const wanted = [...standardIds.slice(0, 2), 1] // an id that does not exist is simply not there
    const found = await api.call('GET', '/v4/linode/instances?page_size=500', {filter: {'+or': wanted.map((id) => ({id}))}})
    expect(found.body.data.map((i: ApiInstance) => i.id)).toEqual(standardIds.slice(0, 2))
    const all = fake.view().instances.map((i) => i.id)
    const second = await api.call('GET', '/v4/linode/instances?page=2&page_size=25', {filter: {'+or': all.map((id) => ({id}))}})
    expect(second.body).toMatchObject({page: 2, pages: 1, results: 8, data: []})
    expect((await api.call('GET', '/v4/linode/instances', {filter: {lke_cluster_id: clusterId}})).body).toEqual({errors: [{field: 'X-Filter', reason: 'Cannot filter on lke_cluster_id'}]})
    expect((await api.call('GET', '/v4/linode/instances?page_size=501')).status).toBe(400)
  })

  it('serves @linode/api-v4 getLinodes (v4beta, params and filter) and getLinode', async () => {
    const page = await linode.getLinodes({page: 1, page_size: 500}, {'+or': standardIds.map((id) => ({id}))})
    expect(page.data.map((i) => i.id)).toEqual(standardIds)
    expect(fake.state.requests.at(-1)).toMatchObject({path: '/v4beta/linode/instances?page=1&page_size=500', template: '/{apiVersion}/linode/instances', status: 200})
    expect((await linode.getLinode(standardIds[0]!)).lke_cluster_id).toBe(clusterId)
  })

  it('names a volume attached to a node after its Linode', () => {
    const [instance] = fake.view().instances
    expect(fake.addVolume({label: 'pvc-data', size: 10, linodeId: instance!.id}).linode_label).toBe(instance!.label)
  })

  it('drops the Linodes with their cluster', async () => {
    expect((await api.call('DELETE', `/v4beta/lke/clusters/${clusterId}`)).status).toBe(200)
    expect((await api.call('GET', `/v4/linode/instances/${standardIds[0]}`)).status).toBe(404)
    expect((await api.call('GET', '/v4/linode/instances')).body.results).toBe(4)
  })

  it('answered only within the spec, complete', () => {
    expect(api.problems).toEqual([])
    expect(fake.state.violations).toEqual([])
  })
})
