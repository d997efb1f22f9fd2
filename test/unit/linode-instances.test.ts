import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {createLinodeClient, IDS_PER_FILTER, isPublicIPv4, LinodeApiError, publicCidrs, type LinodeApi} from '../../src/linode/client.js'
import {scaledClock} from '../../src/lib/time.js'
import {CLUSTER} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

describe('public addresses of Linodes', () => {
  it('leaves out RFC 1918, CGNAT, loopback and link-local IPv4', () => {
    const inside = ['10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.128.7', '100.64.0.1', '100.127.255.255', '127.0.0.1', '169.254.1.1']
    const outside = ['172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.0', '192.169.0.1', '11.0.0.1', '203.0.113.7', '172.232.10.1']
    expect(inside.filter(isPublicIPv4)).toEqual([])
    expect(outside.filter(isPublicIPv4)).toEqual(outside)
    expect(isPublicIPv4('2001:db8::1')).toBe(false)
  })

  it('turns Linodes into sorted, unique CIDRs: public IPv4 /32, then IPv6 /128', () => {
    const linode = (id: number, ipv4: string[], ipv6: string | null) => ({id, label: `lke1-2-${id}`, ipv4, ipv6, lke_cluster_id: 1})
    expect(
      publicCidrs([
        linode(1, ['198.51.100.20', '192.168.128.9'], '2001:db8::f03c:95ff:fe00:2/128'),
        linode(2, ['198.51.100.3', '192.168.128.10'], null),
        linode(3, ['198.51.100.20'], 'fd00::1/128'),
        linode(4, ['10.0.0.1'], 'fe80::1/128'),
      ]),
    ).toEqual(['198.51.100.3/32', '198.51.100.20/32', '2001:db8::f03c:95ff:fe00:2/128'])
    expect(publicCidrs([])).toEqual([])
  })
})

describe('the Linode client against the fake: instances and node addresses', () => {
  let fake: FakeLinode
  let api: LinodeApi
  const logged: string[] = []

  beforeAll(async () => {
    // Retry waits (3 s at least) run 1000 times faster, as against a simulated cloud. The fake's clock
    // stands still (manual): a cluster added "45 s ago" stays 45 s old, whatever the machine's load.
    fake = await startFakeLinode({timeScale: 0.001, manualClock: true})
    api = await createLinodeClient({token: fake.token, baseUrl: fake.url, clock: scaledClock(0.001), log: (m) => logged.push(m)})
  })

  afterEach(() => fake.clearFaults())

  afterAll(async () => {
    await fake?.close()
    expect(fake.state.violations).toEqual([])
    expect(logged.join('\n')).not.toContain(fake.token)
  })

  const since = (start: number) => fake.state.requests.slice(start)

  it('lists Linodes by id in one request (X-Filter "+or", page_size 500), only the fields fedobs reads', async () => {
    const lke = fake.addCluster(CLUSTER, {ageSeconds: 600})
    const ids = fake
      .view()
      .instances.filter((i) => i.lke_cluster_id === lke.id)
      .map((i) => i.id)
    const start = fake.state.requests.length
    const found = await api.instancesByIds([ids[1]!, ids[0]!, ids[0]!, 5])
    expect(found.map((i) => i.id).sort()).toEqual([ids[0], ids[1]].sort())
    expect(Object.keys(found[0]!).sort()).toEqual(['id', 'ipv4', 'ipv6', 'label', 'lke_cluster_id'])
    expect(found[0]).toMatchObject({lke_cluster_id: lke.id, label: expect.stringMatching(new RegExp(`^lke${lke.id}-`))})
    const [request, ...more] = since(start)
    expect(more).toEqual([])
    expect(request).toMatchObject({method: 'GET', path: '/v4beta/linode/instances?page=1&page_size=500', status: 200})
    expect(JSON.parse(request!.xFilter!)).toEqual({'+or': [{id: ids[1]}, {id: ids[0]}, {id: 5}]})
  })

  it('asks nothing for no ids, and one request per 500 ids beyond that', async () => {
    const start = fake.state.requests.length
    expect(await api.instancesByIds([])).toEqual([])
    expect(since(start)).toEqual([])
    const ids = Array.from({length: IDS_PER_FILTER + 100}, (_, i) => 1_000_000 + i)
    expect(await api.instancesByIds(ids)).toEqual([])
    expect(
      since(start)
        .map((r) => JSON.parse(r.xFilter!)['+or'].length)
        .sort(),
    ).toEqual([100, 500])
  })

  it('gives every node’s public addresses as CIDRs in two requests: the pools, then one instance list', async () => {
    const lke = fake.addCluster({...CLUSTER, label: 'edge'}, {ageSeconds: 45}) // standard nodes have Linodes, the GPU node not yet
    const start = fake.state.requests.length
    const cidrs = await api.nodeAddresses(lke.id)
    expect(since(start).map((r) => r.template)).toEqual(['/{apiVersion}/lke/clusters/{clusterId}/pools', '/{apiVersion}/linode/instances'])
    const instances = fake.view().instances.filter((i) => i.lke_cluster_id === lke.id)
    expect(instances).toHaveLength(3)
    expect(cidrs).toEqual(publicCidrs(instances))
    expect(cidrs).toHaveLength(6)
    expect(cidrs.filter((c) => c.endsWith('/32'))).toEqual(instances.map((i) => `${i.ipv4[0]}/32`).sort((a, b) => a.localeCompare(b, 'en', {numeric: true})))
    expect(cidrs.filter((c) => c.endsWith('/128'))).toEqual(instances.map((i) => i.ipv6!).sort())
    expect(cidrs.some((c) => c.startsWith('192.168.'))).toBe(false)
  })

  it('asks for no instances while no node has its Linode', async () => {
    const lke = fake.addCluster({...CLUSTER, label: 'new'})
    const start = fake.state.requests.length
    expect(await api.nodeAddresses(lke.id)).toEqual([])
    expect(since(start).map((r) => r.template)).toEqual(['/{apiVersion}/lke/clusters/{clusterId}/pools'])
  })

  it('retries a 503 and a 429 on the instance list, like every GET', async () => {
    const lke = fake.addCluster({...CLUSTER, label: 'flaky'}, {ageSeconds: 600})
    const before = api.calls.byPath.get('GET /linode/instances') ?? 0
    fake.injectFaults([
      {match: {method: 'GET', pathPattern: '/linode/instances'}, status: 503},
      {match: {method: 'GET', pathPattern: '/linode/instances'}, status: 429},
    ])
    expect(await api.nodeAddresses(lke.id)).toHaveLength(8)
    expect(fake.pendingFaults()).toBe(0)
    expect(api.calls.byPath.get('GET /linode/instances')! - before).toBe(3)
  })

  it('fails with the API’s status and reasons, naming what it called', async () => {
    const error = await api.nodeAddresses(999).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LinodeApiError)
    expect(error).toMatchObject({status: 404, method: 'GET', path: '/lke/clusters/999/pools', errors: [{reason: 'Not found'}]})
  })
})
