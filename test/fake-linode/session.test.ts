import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {CLUSTER, client, type Client} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

let fake: FakeLinode
let api: Client

beforeAll(async () => {
  fake = await startFakeLinode({token: 'secret-token-for-the-session-test', timeline: {kubeconfigReadySeconds: 120}, rateLimit: {limit: 1000, windowSeconds: 60}})
  api = client(fake)
})

afterAll(async () => {
  await fake.close()
})

describe('a realistic session, every answer checked against the spec', () => {
  let clusterId: number

  it('reads the catalogue on both /v4 and /v4beta, without a token where the API allows it', async () => {
    const regions = await api.call('GET', '/v4beta/regions', {token: null})
    expect(regions.status).toBe(200)
    expect(regions.body.data.map((r: {id: string}) => r.id)).toEqual(expect.arrayContaining(['us-ord', 'us-east', 'us-iad', 'eu-central', 'ap-south', 'gb-lon']))
    const versions = await api.call('GET', '/v4beta/lke/versions')
    expect(versions.body).toEqual({data: [{id: '1.34'}, {id: '1.33'}, {id: '1.32'}], page: 1, pages: 1, results: 3})
    const types = await api.call('GET', '/v4/linode/types', {filter: {class: 'gpu'}})
    expect(types.body.data.map((t: {id: string}) => t.id)).toEqual(['g1-gpu-rtx6000-1', 'g2-gpu-rtx4000a1-s', 'g2-gpu-rtx4000a1-m', 'g2-gpu-rtx4000a1-l', 'g2-gpu-rtx4000a2-m'])
    expect((await api.call('GET', '/v4/lke/types')).body.data.map((t: {id: string}) => t.id)).toEqual(['lke-sa', 'lke-ha'])
    expect((await api.call('GET', '/v4/lke/versions', {token: null})).status).toBe(401)
  })

  it('creates a cluster that is not ready, with nodes that do not exist yet', async () => {
    const created = await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})
    expect(created.status).toBe(200)
    expect(created.body).toMatchObject({label: CLUSTER.label, region: 'us-ord', k8s_version: '1.33', status: 'not_ready', tags: CLUSTER.tags, control_plane: {high_availability: false}})
    clusterId = created.body.id
    const pools = await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools`)
    expect(pools.body.results).toBe(2)
    expect(pools.body.data[0].nodes).toHaveLength(3)
    for (const pool of pools.body.data) for (const node of pool.nodes) expect(node).toMatchObject({instance_id: null, status: 'not_ready'})
    expect(pools.body.data[1].autoscaler).toEqual({enabled: true, min: 1, max: 2})
  })

  it('answers kubeconfig with 503 + Retry-After until it exists, then base64 YAML', async () => {
    const early = await api.call('GET', `/v4beta/lke/clusters/${clusterId}/kubeconfig`)
    expect(early.status).toBe(503)
    expect(early.body).toEqual({errors: [{reason: 'Cluster kubeconfig is not yet available. Please try again later.'}]})
    expect(early.headers.get('retry-after')).toBe('20')
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}/api-endpoints`)).status).toBe(503)

    fake.advance(40)
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}`)).body.status).toBe('ready')
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}/kubeconfig`)).status).toBe(503)

    fake.advance(90)
    const ready = await api.call('GET', `/v4beta/lke/clusters/${clusterId}/kubeconfig`)
    expect(ready.status).toBe(200)
    const kubeconfig = parse(Buffer.from(ready.body.kubeconfig, 'base64').toString('utf8'))
    expect(kubeconfig['current-context']).toBe(`lke${clusterId}-ctx`)
    expect(kubeconfig.clusters[0]).toEqual({name: `lke${clusterId}`, cluster: {server: `https://127.0.0.1:${fake.port}`}})
    expect(kubeconfig.users[0].name).toBe(`lke${clusterId}-admin`)
    expect(kubeconfig.users[0].user.token).toMatch(/^[0-9a-f]{48}$/)
    const endpoints = await api.call('GET', `/v4beta/lke/clusters/${clusterId}/api-endpoints`)
    expect(endpoints.body.data).toHaveLength(4)
  })

  it('shows standard nodes with Linodes and ready before GPU nodes', async () => {
    const pools = (await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools`)).body.data
    expect(pools[0].nodes.every((n: {status: string; instance_id: number}) => n.status === 'ready' && Number.isInteger(n.instance_id))).toBe(true)
    expect(pools[1].nodes[0]).toMatchObject({status: 'not_ready', instance_id: expect.any(Number)})
    fake.advance(30)
    const gpu = await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools/${pools[1].id}`)
    expect(gpu.body.nodes[0].status).toBe('ready')
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools/999`)).status).toBe(404)
  })

  it('lists with the API pagination and X-Filter (label, tags, +and, +or); duplicate labels are allowed', async () => {
    for (let i = 0; i < 29; i++) fake.addCluster({...CLUSTER, label: `edge-${i}`, tags: i % 2 ? ['fedobs', 'odd'] : ['fedobs']})
    const duplicate = await api.call('POST', '/v4/lke/clusters', {body: CLUSTER})
    expect(duplicate.status).toBe(200)
    expect(duplicate.body.id).not.toBe(clusterId)

    const first = await api.call('GET', '/v4beta/lke/clusters?page_size=25')
    expect(first.body).toMatchObject({page: 1, pages: 2, results: 31})
    expect(first.body.data).toHaveLength(25)
    const second = await api.call('GET', '/v4beta/lke/clusters?page=2&page_size=25')
    expect(second.body.data).toHaveLength(6)
    const everything = await api.call('GET', '/v4beta/lke/clusters')
    expect(everything.body).toMatchObject({page: 1, pages: 1, results: 31})
    expect(everything.body.data).toHaveLength(31)

    const byLabel = await api.call('GET', '/v4beta/lke/clusters', {filter: {label: CLUSTER.label}})
    expect(byLabel.body.data.map((c: {id: number}) => c.id)).toEqual([clusterId, duplicate.body.id])
    expect((await api.call('GET', '/v4beta/lke/clusters', {filter: {tags: 'odd'}})).body.results).toBe(14)
    const and = await api.call('GET', '/v4beta/lke/clusters', {filter: {'+and': [{tags: 'odd'}, {label: 'edge-3'}]}})
    expect(and.body.data.map((c: {label: string}) => c.label)).toEqual(['edge-3'])
    const or = await api.call('GET', '/v4beta/lke/clusters', {filter: {'+or': [{label: 'edge-3'}, {label: 'edge-4'}], '+order_by': 'label', '+order': 'desc'}})
    expect(or.body.data.map((c: {label: string}) => c.label)).toEqual(['edge-4', 'edge-3'])

    const unfilterable = await api.call('GET', '/v4beta/lke/clusters', {filter: {status: 'ready'}})
    expect(unfilterable.status).toBe(400)
    expect(unfilterable.body).toEqual({errors: [{field: 'X-Filter', reason: 'Cannot filter on status'}]})
    const broken = await api.call('GET', '/v4beta/lke/clusters', {headers: {'X-Filter': '{"label": '}})
    expect(broken.body).toEqual({errors: [{field: 'X-Filter', reason: 'X-Filter must be valid JSON'}]})
    expect((await api.call('GET', '/v4beta/lke/clusters?page_size=10')).body).toEqual({errors: [{field: 'page_size', reason: 'page_size must be between 25 and 500'}]})
  })

  it('rejects create payloads the spec or the catalogue rejects, in the API error shape', async () => {
    const cases: [unknown, {field: string; reason: string}[]][] = [
      [{...CLUSTER, node_count: 3}, [{field: 'node_count', reason: 'node_count is not a recognized field'}]],
      [{...CLUSTER, k8s_version: 1.33}, [{field: 'k8s_version', reason: 'k8s_version must be of type string'}]],
      [{...CLUSTER, node_pools: [{type: 'g6-standard-4', count: 0}]}, [{field: 'node_pools[0].count', reason: 'count must be between 1 and 100'}]],
      [{label: 'x', region: 'us-ord', k8s_version: '1.33'}, [{field: 'node_pools', reason: 'node_pools is required'}]],
      [{...CLUSTER, region: 'mars-1'}, [{field: 'region', reason: 'region is not valid'}]],
      [{...CLUSTER, k8s_version: '1.29'}, [{field: 'k8s_version', reason: 'k8s_version is not valid'}]],
      [{...CLUSTER, node_pools: [{type: 'g6-huge-99', count: 1}]}, [{field: 'node_pools[0].type', reason: 'type is not valid'}]],
      [{...CLUSTER, region: 'gb-lon'}, [{field: 'node_pools[1].type', reason: 'g2-gpu-rtx4000a1-s is not available in gb-lon'}]],
    ]
    const before = fake.state.clusters.size
    for (const [body, errors] of cases) {
      const answer = await api.call('POST', '/v4beta/lke/clusters', {body})
      expect({status: answer.status, body: answer.body}).toEqual({status: 400, body: {errors}})
    }
    expect((await api.call('POST', '/v4beta/lke/clusters', {raw: '{"label": '})).body).toEqual({errors: [{reason: 'Invalid JSON'}]})
    expect(fake.state.clusters.size).toBe(before)
  })

  it('updates a cluster with PUT and refuses a downgrade', async () => {
    const updated = await api.call('PUT', `/v4beta/lke/clusters/${clusterId}`, {body: {tags: ['fedobs', 'hub'], k8s_version: '1.34'}})
    expect(updated.body).toMatchObject({id: clusterId, tags: ['fedobs', 'hub'], k8s_version: '1.34'})
    const down = await api.call('PUT', `/v4beta/lke/clusters/${clusterId}`, {body: {k8s_version: '1.32'}})
    expect(down.body).toEqual({errors: [{field: 'k8s_version', reason: 'k8s_version cannot be downgraded'}]})
    expect((await api.call('PUT', `/v4beta/lke/clusters/${clusterId}`, {body: {region: 'us-east'}})).status).toBe(400)
  })

  it('keeps NodeBalancers and volumes when the cluster goes (the teardown leak), detaching its volumes', async () => {
    const pools = (await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools`)).body.data
    const nodeBalancer = fake.addNodeBalancer({clusterId, tags: ['fedobs']})
    const unrelated = fake.addNodeBalancer({clusterId: null, label: 'hand-made'})
    const attached = fake.addVolume({label: 'pvc0a1b2c3d4e5f60718293a4b5c6d7e', tags: ['fedobs'], linodeId: pools[0].nodes[0].instance_id, size: 50})
    const loose = fake.addVolume({label: 'scratch', tags: [], linodeId: null, size: 10})
    expect(nodeBalancer.lke_cluster).toEqual({id: clusterId, label: CLUSTER.label, type: 'lkecluster', url: `/v4/lke/clusters/${clusterId}`})
    expect(() => fake.addVolume({label: 'pvc0a1b2c3d4e5f60718293a4b5c6d7e8f9', linodeId: null, size: 10})).toThrow(/label/)
    expect(attached.linode_label).toMatch(new RegExp(`^lke${clusterId}-${pools[0].id}-`))

    const refused = await api.call('DELETE', `/v4/volumes/${attached.id}`)
    expect(refused.status).toBe(400)
    expect((await api.call('GET', `/v4/nodebalancers/${unrelated.id}`)).body.lke_cluster).toBeNull()

    expect((await api.call('DELETE', `/v4beta/lke/clusters/${clusterId}`)).body).toEqual({})
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}`)).status).toBe(404)
    expect((await api.call('GET', `/v4beta/lke/clusters/${clusterId}/pools`)).status).toBe(404)
    expect([...fake.state.pools.values()].some((p) => p.clusterId === clusterId)).toBe(false)

    const nodeBalancers = await api.call('GET', '/v4/nodebalancers', {filter: {tags: 'fedobs'}})
    expect(nodeBalancers.body.data.map((nb: {id: number; lke_cluster: {id: number}}) => [nb.id, nb.lke_cluster.id])).toEqual([[nodeBalancer.id, clusterId]])
    const volumes = await api.call('GET', '/v4/volumes', {filter: {tags: 'fedobs'}})
    expect(volumes.body.data).toEqual([expect.objectContaining({id: attached.id, linode_id: null, linode_label: null})])

    expect((await api.call('DELETE', `/v4/nodebalancers/${nodeBalancer.id}`)).status).toBe(200)
    expect((await api.call('DELETE', `/v4/volumes/${attached.id}`)).status).toBe(200)
    expect((await api.call('DELETE', `/v4/volumes/${loose.id}`)).status).toBe(200)
    expect((await api.call('DELETE', `/v4/volumes/${loose.id}`)).status).toBe(404)
    expect((await api.call('GET', '/v4/volumes')).body.results).toBe(0)
  })

  it('answers 401, 404 and 405 in the API shape', async () => {
    expect((await api.call('GET', '/v4beta/lke/clusters', {token: null})).body).toEqual({errors: [{reason: 'Invalid Token'}]})
    expect((await api.call('GET', '/v4beta/lke/clusters', {token: 'wrong'})).status).toBe(401)
    expect((await api.call('GET', '/v4/regions', {token: 'wrong'})).status).toBe(401)
    expect((await api.call('GET', '/v4beta/lke/clusters/12345')).body).toEqual({errors: [{reason: 'Not found'}]})
    expect((await api.call('GET', '/v4/lke/clusters/abc')).body).toEqual({errors: [{field: 'clusterId', reason: 'clusterId must be of type integer'}]})
    expect((await api.call('GET', '/v4/linode/instances/12345/disks')).status).toBe(404)
    expect((await api.call('PATCH', '/v4/lke/clusters')).status).toBe(405)
  })

  it('sent only answers that match the spec, complete, and never echoed the token', () => {
    expect(api.count).toBeGreaterThan(50)
    expect(api.problems).toEqual([])
    expect(fake.state.violations).toEqual([])
    for (const text of api.received) expect(text).not.toContain(fake.token)
    expect(JSON.stringify(fake.state.requests)).not.toContain(fake.token)
    expect(fake.state.requests).toHaveLength(api.count)
    expect(fake.state.requests[0]).toMatchObject({method: 'GET', path: '/v4beta/regions', template: '/{apiVersion}/regions', status: 200})
    expect(fake.state.requests.filter((r) => r.status === 503).length).toBeGreaterThanOrEqual(3)
  })
})
