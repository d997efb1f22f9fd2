import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {parse} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {createAuthority, DAY_MS, issueClientCredentials} from '../../src/pki/authority.js'
import {postToGateway, probeTls} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {Accountant, Monitor, selfMetricsUrl, Traffic} from './accounting.js'
import {sleep, waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, startPipeline, type ClusterHandle, type Pipeline, PIPELINE_BINARIES, pipelineBinaries} from './pipeline.js'

/**
 * The secure default on the real collector: the rendered gateway (mTLS, TLS 1.3, identity tokens,
 * cluster identity from the token) and the rendered agents and scrapers with the credentials the
 * federation CA issued them. Refusals are checked at the wire; identity at the real Prometheus;
 * rotation and revocation while data flows by counting what was served against what was stored.
 */
const binaries = requireBinaries(PIPELINE_BINARIES)
const HUB = 'fed-observability-test'

function metric(name: string, resource: Record<string, string>): unknown {
  const now = `${Date.now()}000000`
  return {
    resourceMetrics: [
      {
        resource: {attributes: Object.entries(resource).map(([key, value]) => ({key, value: {stringValue: value}}))},
        scopeMetrics: [{metrics: [{name, gauge: {dataPoints: [{asDouble: 1, timeUnixNano: now}]}}]}],
      },
    ],
  }
}

describe.skipIf(!binaries.ok)('mTLS and cluster identity at the gateway, on the real collector', () => {
  let p: Pipeline
  let monitor: Monitor
  let traffic: Traffic
  let accounts: Accountant
  let counted: () => ClusterHandle[]
  const grpc = (): string => p.gatewayOtlpGrpcAddress
  const http = (): string => p.gatewayOtlpHttpUrl.replace(/^https:\/\//, '')
  const edgeCredentials = () => p.pki.issued.get(EDGE)!

  beforeAll(async () => {
    p = await startPipeline({
      ...pipelineBinaries(binaries),
    })
    monitor = new Monitor({gateway: p.gatewayMetricsUrl, 'edge-agent': selfMetricsUrl(p, 'edge-agent'), 'edge-scraper': selfMetricsUrl(p, 'edge-scraper')})
    monitor.start()
    traffic = new Traffic([p.hub, p.edge])
    counted = () => [p.hub, p.edge]
    accounts = new Accountant(p, monitor, traffic, {counted: () => counted()})
    await accounts.begin()
    traffic.start()
    await accounts.flowing()
  }, 120_000)

  afterAll(async () => {
    monitor?.stop()
    await traffic?.stop()
    await p?.stop()
  })

  it("a valid edge's data arrives at Prometheus under its own cluster_id and role, through mTLS", async () => {
    const rows = await p.query(`count by (cluster_id, cluster_role) (up{job="kube-state-metrics"} == 1)`)
    expect(rows.map((r) => `${r.metric.cluster_id}/${r.metric.cluster_role}`).sort()).toEqual([`${EDGE}/edge`, `${HUB}/hub`])
    // The agents really export over TLS 1.3 with their client certificate (gRPC on 4317, HTTP on 4318).
    for (const [address, alpn] of [
      [grpc(), ['h2']],
      [http(), ['http/1.1']],
    ] as const) {
      const probe = await probeTls(address, edgeCredentials(), {alpn: [...alpn]})
      expect(probe, address).toMatchObject({protocol: 'TLSv1.3', accepted: true})
    }
  })

  it('refuses a client without a certificate, on both receivers', async () => {
    const {caCert} = edgeCredentials()
    for (const address of [grpc(), http()]) {
      const probe = await probeTls(address, {caCert})
      expect(probe.accepted, `${address}: ${JSON.stringify(probe)}`).toBe(false)
    }
    const post = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, metric('fedobs_probe', {}), {caCert, token: edgeCredentials().token})
    expect(post.status).toBeUndefined()
    expect(post.error).toMatch(/certificate|alert|ECONNRESET|socket hang up/i)
  })

  it('refuses TLS 1.2, on both receivers', async () => {
    for (const address of [grpc(), http()]) {
      const probe = await probeTls(address, edgeCredentials(), {maxVersion: 'TLSv1.2'})
      expect(probe.accepted, `${address}: ${JSON.stringify(probe)}`).toBe(false)
      expect(probe.error).toMatch(/version|alert/i)
    }
  })

  it('refuses a certificate from another CA, even with a valid-looking token', async () => {
    const other = await createAuthority('fed-observability') // same federation name, different keys
    const {credentials} = await issueClientCredentials(other, EDGE, 'edge', {validityMs: DAY_MS})
    const probe = await probeTls(grpc(), {...credentials, caCert: edgeCredentials().caCert})
    expect(probe.accepted, JSON.stringify(probe)).toBe(false)
    const post = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, metric('fedobs_probe', {}), {...credentials, caCert: edgeCredentials().caCert})
    expect(post.status).toBeUndefined()
  })

  it('refuses an expired certificate from the right CA', async () => {
    const expired = await p.pki.mint({name: EDGE, role: 'edge'}, {now: new Date(Date.now() - 3 * DAY_MS), validityMs: DAY_MS})
    const probe = await probeTls(grpc(), expired)
    expect(probe.accepted, JSON.stringify(probe)).toBe(false)
    const post = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, metric('fedobs_probe', {}), expired)
    expect(post.status).toBeUndefined()
  })

  it('refuses a valid certificate without an identity token, or with a forged or foreign one (401)', async () => {
    const {cert, key, caCert, token} = edgeCredentials()
    const other = await createAuthority('fed-observability')
    const foreign = (await issueClientCredentials(other, EDGE, 'edge', {validityMs: DAY_MS})).credentials.token
    const [header, payload] = token.split('.')
    const forgedPayload = Buffer.from(JSON.stringify({...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: HUB, role: 'hub'})).toString('base64url')
    const forged = `${header}.${forgedPayload}.${token.split('.')[2]}`
    for (const [label, bearer] of [
      ['none', undefined],
      ['foreign', foreign],
      ['forged', forged],
    ] as const) {
      const post = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, metric('fedobs_probe', {}), {cert, key, caCert, ...(bearer ? {token: bearer} : {})})
      expect(post.status, `${label}: ${JSON.stringify(post)}`).toBe(401)
    }
  })

  it("relabels data an edge sends under another cluster's identity with its own (HTTP)", async () => {
    const post = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, metric('fedobs_spoof_probe', {'cluster.id': HUB, 'cluster.role': 'hub', 'service.name': 'spoofer'}), edgeCredentials())
    expect(post).toMatchObject({status: 200})
    const rows = await waitFor(
      'the spoof probe at the hub',
      async () => {
        const found = await p.query('fedobs_spoof_probe')
        return found.length > 0 ? found : undefined
      },
      {timeoutMs: 30_000},
    )
    expect(rows.map((r) => [r.metric.cluster_id, r.metric.cluster_role])).toEqual([[EDGE, 'edge']])
  })

  it("relabels an edge agent configured to claim the hub's identity (real agent, gRPC)", async () => {
    const file = path.join(p.dir, 'edge-agent.yaml')
    const original = readFileSync(file, 'utf8')
    const config = parse(original)
    config.processors['resource/cluster'].attributes = [
      {key: 'cluster.id', value: HUB, action: 'upsert'},
      {key: 'cluster.role', value: 'hub', action: 'upsert'},
    ]
    writeFileSync(file, emitYaml(config))
    // The test's traffic pauses while the agent restarts (twice): it would be refused meanwhile.
    await traffic.stop()
    try {
      await p.edge.agent.restart()
      const since = Date.now() / 1000
      // The edge's kubelet stats name the edge's node: they must arrive as the edge, never as the hub.
      const node = p.edge.node.node
      await waitFor(
        'kubelet stats of the claiming agent',
        async () => {
          const rows = await p.query(`max by (cluster_id, cluster_role) (timestamp(k8s_node_memory_working_set_bytes{k8s_node_name="${node}"}))`)
          return rows.some((r) => Number(r.value[1]) > since) ? rows : undefined
        },
        {timeoutMs: 40_000},
      )
      const rows = await p.query(`count by (cluster_id, cluster_role) (k8s_node_memory_working_set_bytes{k8s_node_name="${node}"})`)
      expect(rows.map((r) => `${r.metric.cluster_id}/${r.metric.cluster_role}`)).toEqual([`${EDGE}/edge`])
    } finally {
      writeFileSync(file, original)
      await p.edge.agent.restart()
      traffic.start()
    }
  }, 90_000)

  it("rotating the gateway's and an edge's credentials while data flows loses nothing", async () => {
    await accounts.checkpoint('before-rotation', 'none', Date.now(), Date.now(), {}) // count from a settled state
    const begin = Date.now()
    const before = {gateway: p.pki.state.gateway!.serial, edge: p.pki.state.clusters[EDGE]!.client!.serial}
    await p.pki.rotateGateway(['127.0.0.1'])
    await p.pki.issue({name: EDGE, role: 'edge'})
    expect(p.pki.state.gateway!.serial).not.toBe(before.gateway)
    expect(p.pki.state.clusters[EDGE]!.client!.serial).not.toBe(before.edge)
    await sleep(5000)
    // New connections: the edge's collectors start again with the new certificate and token (the
    // test's traffic pauses meanwhile: a workload's SDK would retry while its agent restarts).
    await traffic.stop()
    await p.edge.agent.restart()
    await p.edge.scraper.restart()
    traffic.start()
    await accounts.flowing()
    // The gateway serves its new certificate within its reload interval (1m): a new handshake sees it.
    const newSerial = p.pki.state.gateway!.serial.replace(/^0+/, '').toUpperCase()
    const served = await waitFor(
      'the gateway to serve its new certificate',
      async () => {
        const probe = await probeTls(grpc(), edgeCredentials())
        return probe.accepted && probe.serial?.replace(/^0+/, '').toUpperCase() === newSerial ? probe : undefined
      },
      {timeoutMs: 90_000, intervalMs: 2000},
    )
    expect(served.protocol).toBe('TLSv1.3')
    const result = await accounts.checkpoint('rotation', 'gateway and edge credentials rotated', begin, Date.now(), {})
    accounts.expectZeroLost(result)
  }, 300_000)

  it('a revoked edge is refused at once; every other cluster loses nothing; a new credential readmits it', async () => {
    // From here the edge's data is not counted (it is expected to stop): settle with the hub alone.
    counted = () => [p.hub]
    await accounts.checkpoint('before-revocation', 'none', Date.now(), Date.now(), {})
    const begin = Date.now()
    await traffic.stop()
    traffic.start([p.hub])
    await p.pki.revoke(EDGE)
    await sleep(2000) // the gateway re-reads its client-CA bundle at most once a second
    const revokedProbe = await probeTls(grpc(), edgeCredentials())
    expect(revokedProbe.accepted, JSON.stringify(revokedProbe)).toBe(false)
    // Its open connections end (here: the collectors restart; in a cluster: max_connection_age).
    await p.edge.agent.restart()
    await p.edge.scraper.restart()
    const stoppedAt = Date.now() / 1000
    await sleep(15_000)
    const newest = await p.query(`max(timestamp(up{cluster_id="${EDGE}"}))`)
    expect(Number(newest[0]?.value[1] ?? 0), 'no edge sample after its revocation').toBeLessThan(stoppedAt + 1)
    expect(p.edge.agent.log()).toMatch(/certificate|tls|x509|authentication/i)
    const result = await accounts.checkpoint('revocation', `${EDGE} revoked`, begin, Date.now(), {})
    accounts.expectZeroLost(result)

    // Readmitted under a new CA: data flows again.
    await p.pki.issue({name: EDGE, role: 'edge'}, {replaceRevoked: true})
    await sleep(2000)
    await p.edge.agent.restart()
    await p.edge.scraper.restart()
    counted = () => [p.hub, p.edge]
    await accounts.flowing()
  }, 300_000)
})
