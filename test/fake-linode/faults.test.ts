import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {CLUSTER, client, type Client} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

let fake: FakeLinode
let api: Client

beforeEach(async () => {
  fake = await startFakeLinode()
  api = client(fake)
})

afterEach(async () => {
  expect(api.problems).toEqual([])
  await fake.close()
})

const clustersNamed = (label: string) => [...fake.state.clusters.values()].filter((c) => c.label === label).length

describe('rate limiting', () => {
  it('counts per token, answers 429 with Retry-After, and sends the X-RateLimit headers on every answer', async () => {
    fake.setRateLimit({limit: 4, windowSeconds: 10})
    const remaining: string[] = []
    for (let i = 0; i < 4; i++) {
      const answer = await api.call('GET', '/v4beta/lke/clusters')
      expect(answer.status).toBe(200)
      expect(answer.headers.get('x-ratelimit-limit')).toBe('4')
      remaining.push(answer.headers.get('x-ratelimit-remaining')!)
    }
    expect(remaining).toEqual(['3', '2', '1', '0'])

    const limited = await api.call('GET', '/v4beta/lke/clusters')
    expect(limited.status).toBe(429)
    expect(limited.body).toEqual({errors: [{reason: 'Too Many Requests'}]})
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10).toBe(true)
    const reset = Number(limited.headers.get('x-ratelimit-reset'))
    expect(Math.abs(reset - Date.now() / 1000)).toBeLessThan(15)
    // Another token (here: none, on a public route) has its own budget.
    expect((await api.call('GET', '/v4/regions', {token: null})).headers.get('x-ratelimit-remaining')).toBe('3')

    fake.advance(10)
    expect((await api.call('GET', '/v4beta/lke/clusters')).status).toBe(200)
    fake.setRateLimit(null)
    const unlimited = await api.call('GET', '/v4beta/lke/clusters')
    expect(unlimited.headers.get('x-ratelimit-limit')).toBeNull()
  })
})

describe('injected faults', () => {
  it('fails before the operation: nothing is created, and the fault is used up', async () => {
    fake.injectFaults([{match: {method: 'POST', pathPattern: '/lke/clusters'}, status: 500}])
    expect(fake.pendingFaults()).toBe(1)
    const failed = await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})
    expect({status: failed.status, body: failed.body}).toEqual({status: 500, body: {errors: [{reason: 'Internal Server Error'}]}})
    expect(clustersNamed(CLUSTER.label)).toBe(0)
    expect(fake.pendingFaults()).toBe(0)
    expect((await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})).status).toBe(200)
    expect(clustersNamed(CLUSTER.label)).toBe(1)
  })

  it('afterCommit: the cluster exists although the POST answered 500', async () => {
    fake.injectFaults([{match: {method: 'POST', pathPattern: '/lke/clusters'}, status: 500, afterCommit: true}])
    const failed = await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})
    expect(failed.status).toBe(500)
    const listed = await api.call('GET', '/v4beta/lke/clusters', {filter: {label: CLUSTER.label}})
    expect(listed.body.results).toBe(1)
  })

  it('afterCommit is not spent on a request that failed anyway', async () => {
    fake.injectFaults([{match: {method: 'POST', pathPattern: '/lke/clusters'}, status: 500, afterCommit: true}])
    expect((await api.call('POST', '/v4beta/lke/clusters', {body: {...CLUSTER, region: 'nowhere'}})).status).toBe(400)
    expect(fake.pendingFaults()).toBe(1)
  })

  it('resets the connection, before or after the commit', async () => {
    fake.injectFaults([
      {match: {method: 'GET', pathPattern: '/lke/clusters'}, resetConnection: true},
      {match: {method: 'POST', pathPattern: '/lke/clusters'}, resetConnection: true, afterCommit: true},
    ])
    await expect(fetch(`${fake.url}/v4beta/lke/clusters`, {headers: {Authorization: `Bearer ${fake.token}`}})).rejects.toThrow()
    const post = fetch(`${fake.url}/v4beta/lke/clusters`, {method: 'POST', headers: {Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json'}, body: JSON.stringify(CLUSTER)})
    await expect(post).rejects.toThrow()
    expect(clustersNamed(CLUSTER.label)).toBe(1)
    expect(fake.state.requests.map((r) => r.status)).toEqual([0, 0])
  })

  it('matches by method and by templated, glob or RegExp path, `times` times', async () => {
    const {id} = fake.addCluster(CLUSTER, {ageSeconds: 600})
    fake.injectFaults([
      {match: {pathPattern: '/lke/clusters/{clusterId}/kubeconfig'}, status: 502, times: 2},
      {match: {method: 'DELETE', pathPattern: '/lke/clusters/*'}, status: 408},
      {match: {pathPattern: /^\/nodebalancers/}, status: 429, headers: {'Retry-After': '7'}},
    ])
    expect((await api.call('GET', `/v4/lke/clusters/${id}/kubeconfig`)).status).toBe(502)
    expect((await api.call('GET', `/v4beta/lke/clusters/${id}/kubeconfig`)).status).toBe(502)
    expect((await api.call('GET', `/v4beta/lke/clusters/${id}/kubeconfig`)).status).toBe(200)
    expect((await api.call('GET', `/v4beta/lke/clusters/${id}`)).status).toBe(200)
    const timeout = await api.call('DELETE', `/v4beta/lke/clusters/${id}`)
    expect({status: timeout.status, body: timeout.body}).toEqual({status: 408, body: {errors: [{reason: 'Request Timeout'}]}})
    expect(fake.state.clusters.has(id)).toBe(true)
    const limited = await api.call('GET', '/v4/nodebalancers')
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7'])
    expect(fake.pendingFaults()).toBe(0)
    expect(() => fake.injectFaults([{match: {}}])).toThrow(/status or resetConnection/)
  })

  it('records a fault body that breaks the spec as a violation', async () => {
    fake.injectFaults([{match: {pathPattern: '/regions'}, status: 503, body: {message: 'upstream down'}}])
    expect((await api.call('GET', '/v4/regions')).status).toBe(503)
    expect(fake.state.violations).toEqual(["GET /v4/regions: 503 / must have required property 'errors'", 'GET /v4/regions: 503 / must NOT have additional properties: message'])
    api.problems.splice(0)
  })
})

describe('maintenance', () => {
  it('answers 503 with X-Maintenance-Mode everywhere until switched off', async () => {
    fake.setMaintenance(true)
    for (const path of ['/v4/regions', '/v4beta/lke/clusters']) {
      const answer = await api.call('GET', path)
      expect(answer.status).toBe(503)
      expect(answer.headers.get('x-maintenance-mode')).toBe('true')
      expect(answer.body.errors[0].reason).toMatch(/maintenance/)
    }
    fake.setMaintenance(false)
    expect((await api.call('GET', '/v4beta/lke/clusters')).status).toBe(200)
    expect(fake.state.violations).toEqual([])
  })
})
