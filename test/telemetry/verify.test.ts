import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, REPO} from '../helpers/cli.js'
import {postToGateway} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {quoteLabelValue, regexAlternatives} from '../../src/verify/backends.js'
import {verifySchema} from '../../src/verify/schema.js'
import {waitFor} from './net.js'
import {EDGE, startPipeline, type Pipeline, PIPELINE_BINARIES} from './pipeline.js'

/**
 * `fedobs verify` against the real pipeline: rendered collectors, real Prometheus, the Loki and
 * Tempo contract fakes. Checks pass when data flows, fail (exit 1) when it stops, and the number
 * of queries does not grow with the number of clusters.
 */
const binaries = requireBinaries(PIPELINE_BINARIES)
const HUB = 'fed-observability-test'
const validate = new Ajv({allErrors: true, strict: false}).compile(verifySchema)

describe.skipIf(!binaries.ok)('fedobs verify on the real pipeline', () => {
  let p: Pipeline
  let dir: string
  const backends = () => ['--prometheus-url', p.prometheusUrl, '--loki-url', p.lokiApiUrl, '--tempo-url', p.tempoApiUrl]
  const verify = (...args: string[]) => runCli(['verify', '-f', 'examples/fedobs.yaml', ...backends(), ...args])

  beforeAll(async () => {
    p = await startPipeline({otelcol: binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', prometheus: binaries.ok ? binaries.paths.FEDOBS_PROMETHEUS! : ''})
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-verify-'))
    for (const cluster of [p.hub, p.edge]) {
      await cluster.sendLogs([`${cluster.role} request ok`])
      await cluster.sendTrace({spans: 2})
    }
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('--wait polls until every check passes, then exits 0 with a JSON report matching the schema', async () => {
    const junit = path.join(dir, 'verify.xml')
    const result = await verify('--wait', '90s', '--json', '--junit', junit)
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true)
    expect(report.ok).toBe(true)
    expect(report.summary.fail).toBe(0)
    const names = report.groups.flatMap((g: {checks: Array<{name: string; status: string}>}) => g.checks.filter((c) => c.status === 'ok').map((c) => c.name))
    for (const expected of [
      'every cluster reports',
      'no duplicate cluster ids',
      `${EDGE} reports as edge`,
      `${HUB} reports as hub`,
      `${EDGE}: kubeletstats`,
      `${EDGE}: dcgm-exporter`,
      `${EDGE}: bert-inference`,
      `${EDGE}: kube-state-metrics`,
      `${HUB}: otel-gateway`,
      `${HUB}: prometheus`,
      'all data via the gateway',
      'gateway queues',
      `${EDGE}: logs`,
      `${EDGE}: traces`,
    ]) {
      expect(names).toContain(expected)
    }
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toContain('<testsuites name="fedobs verify"')
    expect(xml).not.toContain('<failure')
  }, 150_000)

  it('prints checks grouped like linkerd check for humans', async () => {
    const result = await verify()
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^federation\n-{10}\n✔ every cluster reports: 2\/2/m)
    expect(result.stdout).toContain(`✔ ${EDGE}: dcgm-exporter: fresh`)
    expect(result.stdout).toContain('Status check results are ✔')
  }, 60_000)

  it('asks the same number of queries for 100 clusters as for 2', async () => {
    const two = JSON.parse((await verify('--json')).stdout)
    const edges = Array.from({length: 98}, (_, i) => `  - name: extra-${i}\n    pools: [{type: g6-standard-2, count: 1}]\n`).join('')
    const file = path.join(dir, 'fedobs-100.yaml')
    const example = readFileSync(path.join(REPO, 'examples/fedobs.yaml'), 'utf8')
    writeFileSync(file, example.replace(/^telemetry:/m, `${edges}telemetry:`))
    const result = await runCli(['verify', '-f', file, ...backends(), '--json'])
    expect(result.code).toBe(1)
    const hundred = JSON.parse(result.stdout)
    expect(hundred.queries).toBe(two.queries)
    const reports = hundred.groups.find((g: {name: string}) => g.name === 'federation').checks[0]
    expect(reports.message).toMatch(/^98 of 100 silent/)
  }, 60_000)

  it('fails (exit 1) with the edge named when the edge stops sending', async () => {
    await p.edge.agent.stop()
    await p.edge.scraper.stop()
    // Everything the edge sent is now older than the freshness window; the hub's data (scraped every
    // 2 s, batched up to 5 s) stays well inside it.
    await new Promise((resolve) => setTimeout(resolve, 22_000))
    const junit = path.join(dir, 'stale.xml')
    const result = await verify('--freshness', '14s', '--json', '--junit', junit)
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.ok).toBe(false)
    const failing = report.groups.flatMap((g: {checks: Array<{status: string; cluster?: string; name: string; hint?: string}>}) => g.checks.filter((c) => c.status === 'fail'))
    expect(failing.length).toBeGreaterThan(0)
    expect(failing.every((c: {cluster?: string}) => c.cluster === EDGE)).toBe(true)
    expect(failing.map((c: {name: string}) => c.name)).toContain(`${EDGE}: kubeletstats`)
    expect(failing[0].hint).toBeTruthy()
    expect(readFileSync(junit, 'utf8')).toContain(`<failure message="stale: newest sample`)
    await p.edge.agent.start()
    await p.edge.scraper.start()
  }, 90_000)

  it('reports an unknown cluster id containing quotes and braces, and escapes it in queries', async () => {
    const rogue = 'a"b})'
    // The gateway takes cluster.id from the sender's identity token, so a rogue id reaches the hub
    // only with credentials issued for it: minted here by the federation CA (the CLI never would,
    // cluster names are validated), and sent straight at the gateway.
    const now = `${Date.now()}000000`
    const body = {
      resourceMetrics: [
        {
          resource: {attributes: [{key: 'cluster.id', value: {stringValue: rogue}}, {key: 'cluster.role', value: {stringValue: 'edge'}}, {key: 'service.name', value: {stringValue: 'rogue'}}]},
          scopeMetrics: [{metrics: [{name: 'up', gauge: {dataPoints: [{asDouble: 1, timeUnixNano: now}]}}]}],
        },
      ],
    }
    const credentials = await p.pki.issue({name: rogue, role: 'edge'})
    const response = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, body, credentials)
    expect(response).toMatchObject({status: 200})
    await waitFor('the rogue series at the hub', async () => (await p.query(`up{cluster_id=${quoteLabelValue(rogue)}}`)).length === 1, {timeoutMs: 30_000})
    // The escaping selects exactly the rogue series, by equality and by regex.
    expect(await p.query(`up{cluster_id=~${regexAlternatives([rogue])}}`)).toHaveLength(1)
    const result = await verify('--json')
    expect(result.code).toBe(1)
    const unknown = JSON.parse(result.stdout).groups.find((g: {name: string}) => g.name === 'federation').checks.find((c: {id: string}) => c.id === 'no-unknown-ids')
    expect(unknown.status).toBe('fail')
    expect(unknown.message).toContain(JSON.stringify(rogue))
  }, 90_000)
})

describe('label value escaping', () => {
  it('keeps any string inside one PromQL/LogQL label value', () => {
    expect(quoteLabelValue('a"b})')).toBe('"a\\"b})"')
    expect(quoteLabelValue('back\\slash')).toBe('"back\\\\slash"')
    expect(quoteLabelValue('new\nline')).toBe('"new\\nline"')
    expect(regexAlternatives(['a.b', 'c|d', 'x"y'])).toBe('"a\\\\.b|c\\\\|d|x\\"y"')
  })
})
