import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {provisionedDatasources} from '../../src/dashboards/datasources.js'
import {describeRequest, probe, type ProbeResult} from '../../src/dashboards/probe.js'
import {ALL, dashboardQueries, rateInterval, type Dashboard, type Datasource, type Selection} from '../../src/dashboards/queries.js'
import {loadFederation} from '../../src/federation/load.js'
import {parseDuration} from '../../src/lib/time.js'
import {allClusters} from '../../src/federation/model.js'
import {dashboards, scrapeJobs} from '../../src/render/render.js'
import {orphans, SANDBOX_BINARIES} from '../../src/sandbox/control.js'
import {runCli} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import {parseExportLines} from '../../src/sandbox/state.js'

/**
 * With real data: the example federation `fedobs up` in the sandbox (real collectors, real
 * Prometheus 3.16, real kube-state-metrics; synthetic BERT, DCGM and kubelet sources; the Loki and
 * Tempo contract fakes fed by the real collectors), then every target of every panel of every
 * dashboard in dashboards/ is sent as Grafana would send it (variables and intervals substituted
 * by src/dashboards/queries.ts) with $cluster = All, = the hub and = one edge, and must return data.
 * One exception, asserted rather than skipped: panels about the hub's gateway (`job="otel-gateway"`;
 * its self-metrics carry the hub's cluster_id) must return NOTHING when only an edge is selected —
 * proof that they, too, follow the cluster selector.
 */
const HUB_ONLY = /job="otel-gateway"/
const binaries = requireBinaries(SANDBOX_BINARIES)
const DASHBOARDS = Object.entries(dashboards()).map(([file, text]) => ({file, dashboard: JSON.parse(text) as Dashboard}))

describe.skipIf(!binaries.ok)('dashboards on real data from the sandbox', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fedobs-dashboards-'))
  const sandboxDir = path.join(root, 'sandbox')
  const testbedDir = process.env.FEDOBS_TESTBED_DIR ?? path.join(homedir(), '.cache/fedobs/testbed')
  const base = {HOME: path.join(root, 'home'), FEDOBS_TESTBED_DIR: testbedDir, FEDOBS_SANDBOX_DIR: sandboxDir, LINODE_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined}
  const file = path.join(root, 'fedobs.yaml')
  writeFileSync(file, readFileSync('examples/fedobs.yaml', 'utf8'))
  const federation = loadFederation({file})
  const hub = federation.hub.name
  const edge = federation.edges[0]!.name
  const datasources: Datasource[] = provisionedDatasources(federation)
  const scrape = datasources.find((d) => d.type === 'prometheus')?.jsonData?.timeInterval ?? ''
  let urls: Record<string, string> = {}
  let started = false
  let prometheus = ''

  beforeAll(async () => {
    const start = await runCli(['sandbox', 'start', '--no-build'], {env: base})
    expect(start.code, start.stderr).toBe(0)
    started = true
    const exported = parseExportLines(start.stdout)
    prometheus = exported.FEDOBS_PROMETHEUS_URL!
    const byType: Record<string, string | undefined> = {prometheus, loki: exported.FEDOBS_LOKI_URL, tempo: exported.FEDOBS_TEMPO_URL}
    urls = Object.fromEntries(datasources.map((d) => [d.uid, byType[d.type] ?? '']))
    expect(Object.values(byType).every(Boolean), JSON.stringify(byType)).toBe(true)

    const up = await runCli(['up', '-f', file, '--yes', '--verify-wait', '5m', '--json'], {env: {...base, ...exported}})
    expect(up.code, up.stdout.slice(-3000) + up.stderr.slice(-3000)).toBe(0)

    // Rates need two samples inside $__rate_interval: wait (polling) until every job of every
    // cluster (the scrape jobs fedobs renders, and the agent's kubeletstats) has them.
    await waitForSamples(prometheus, federation, rateInterval(0, scrape), parseDuration(scrape || '15s')!)
  }, 600_000)

  afterAll(async () => {
    try {
      if (started) {
        const stop = await runCli(['sandbox', 'stop'], {env: base})
        expect(stop.code, stop.stderr).toBe(0)
        await waitUntil(() => orphans(sandboxDir).length === 0, 20_000)
        expect(orphans(sandboxDir), 'processes of the sandbox left running').toEqual([])
      }
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  }, 180_000)

  it('finds the dashboards to check', () => {
    expect(DASHBOARDS.length).toBeGreaterThan(0)
  })

  /** Every target of the dashboard for All, the hub and the edge: what failed (named), and how many ran. */
  async function check(dashboard: Dashboard): Promise<{failures: string[]; checked: number}> {
    const values = await variableValues(prometheus, dashboard)
    expect(values.cluster ?? [], 'label_values of the cluster variable').toEqual(expect.arrayContaining([hub, edge]))
    const failures: string[] = []
    let checked = 0
    for (const [label, selection] of [
      ['All', ALL],
      [hub, [hub]],
      [edge, [edge]],
    ] as Array<[string, Selection]>) {
      const {queries, unsupported} = dashboardQueries(dashboard, {datasources, variables: {cluster: selection}, variableValues: values})
      for (const u of unsupported) failures.push(`${u.dashboard} › ${u.panel} › ${u.refId} [cluster=${label}]: ${u.reason}`)
      const results: ProbeResult[] = []
      // A few at a time: the machine is small and shared.
      for (let i = 0; i < queries.length; i += 4) results.push(...(await Promise.all(queries.slice(i, i + 4).map((q) => probe(q, urls)))))
      checked += results.length
      for (const r of results) {
        const q = r.query
        if (label === edge && HUB_ONLY.test(q.expr)) {
          if (r.error === undefined && r.series === 0) continue
          failures.push(`${q.dashboard} › ${q.panel} › ${q.refId} [cluster=${label}]: a hub-gateway panel must be empty for an edge: ${r.error ?? `${r.series} series`}\n    ${q.expr}`)
          continue
        }
        if (r.error === undefined && r.series > 0 && r.points > 0) continue
        failures.push(
          `${q.dashboard} › ${q.panel} › ${q.refId} [cluster=${label}, ${q.request.backend} ${q.kind}]: ${r.error ?? 'no data'}\n    ${q.expr}\n    ${describeRequest(q, urls[q.request.datasourceUid])}`,
        )
      }
    }
    return {failures, checked}
  }

  it.each(DASHBOARDS.map((d) => [d.dashboard.title ?? d.file, d] as const))(
    '%s: every panel query returns data for All, the hub and one edge',
    async (_title, {file, dashboard}) => {
      const {failures, checked} = await check(dashboard)
      expect(checked, `${file}: queries checked`).toBeGreaterThan(0)
      expect(failures, `${failures.length} of ${checked} queries of ${file} returned no data or an error`).toEqual([])
    },
    180_000,
  )

  it('a panel without data, or with a datasource nobody provisions, fails naming the dashboard and the panel', async () => {
    const broken = structuredClone(DASHBOARDS.find((d) => d.dashboard.uid === 'federation-overview')!.dashboard) as Dashboard & {panels: Array<Record<string, unknown>>}
    const panels = broken.panels.filter((p) => Array.isArray(p.targets) && (p.targets as unknown[]).length > 0) as Array<{title: string; targets: Array<Record<string, unknown>>}>
    const [silent, lost] = [panels[0]!, panels[1]!]
    silent.targets = [{...silent.targets[0], expr: 'sum(fedobs_no_such_metric_total{cluster_id=~"$cluster"})'}]
    lost.targets = [{...lost.targets[0], datasource: {type: 'prometheus', uid: 'PBFA97CFB590B2093'}}]
    ;(lost as Record<string, unknown>).datasource = {type: 'prometheus', uid: 'PBFA97CFB590B2093'}
    const {failures} = await check(broken)
    expect(
      failures.find((f) => f.startsWith(`Federation Overview › ${silent.title} › A [cluster=All`)),
      failures.join('\n'),
    ).toMatch(/no data/)
    expect(
      failures.find((f) => f.startsWith(`Federation Overview › ${lost.title} › A [cluster=All`)),
      failures.join('\n'),
    ).toMatch(/PBFA97CFB590B2093/)
    expect(
      failures.every((f) => f.includes(silent.title) || f.includes(lost.title)),
      failures.join('\n'),
    ).toBe(true)
  }, 120_000)
})

/** Values of the dashboard's `label_values(...)` query variables, from the real Prometheus. */
async function variableValues(prometheus: string, dashboard: Dashboard): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === 'string' ? variable.query : ((variable.query as {query?: string} | undefined)?.query ?? '')
    const m = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(query.trim())
    if (variable.type !== 'query' || !m) continue
    const params = new URLSearchParams()
    if (m[1]) params.set('match[]', m[1].replace(/\$\{?\w+\}?/g, '.*'))
    const response = await fetch(`${prometheus}/api/v1/label/${m[2]}/values?${params}`)
    out[variable.name] = ((await response.json()) as {data: string[]}).data
  }
  return out
}

async function waitForSamples(prometheus: string, federation: ReturnType<typeof loadFederation>, windowMs: number, lagMs: number): Promise<void> {
  const expected = allClusters(federation).flatMap((c) => [...scrapeJobs(federation, c), 'kubeletstats'].map((job) => `${c.name}/${job}`))
  const query = `min by (cluster_id, job) (count_over_time({__name__=~"up|k8s_node_cpu_time_seconds_total"}[${windowMs / 1000}s]))`
  let missing = expected
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline) {
    // Evaluated one scrape interval ago: Grafana aligns a range query's end down to its step.
    const time = String((Date.now() - lagMs) / 1000)
    const response = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({query, time})}`).catch(() => undefined)
    const body = response?.ok ? ((await response.json()) as {data: {result: Array<{metric: Record<string, string>; value: [number, string]}>}}) : undefined
    const ready = new Set((body?.data.result ?? []).filter((r) => Number(r.value[1]) >= 2).map((r) => `${r.metric.cluster_id}/${r.metric.job}`))
    missing = expected.filter((e) => !ready.has(e))
    if (missing.length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 3000))
  }
  throw new Error(`no two samples within ${windowMs / 1000}s for: ${missing.join(', ')}`)
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250))
}
