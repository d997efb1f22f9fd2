import {readdirSync, readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {allPanels, interpolate, type Dashboard, type Panel, type Target} from '../../src/dashboards/grafana.js'
import {formatFinding, lintDashboard, lintDashboards, type Finding, type RuleId} from '../../src/dashboards/lint.js'
import {REPO} from '../helpers/cli.js'
import {GRAMMARS} from './grammars.js'

const DIRECTORY = `${REPO}dashboards/`

/** Every dashboard the hub ships: dashboards/*.json. */
function realDashboards(): Array<{file: string; dashboard: Dashboard}> {
  return readdirSync(DIRECTORY)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({file, dashboard: JSON.parse(readFileSync(`${DIRECTORY}${file}`, 'utf8')) as Dashboard}))
}

function targetsOf(dashboard: Dashboard): Array<{panel: Panel; target: Target}> {
  return allPanels(dashboard).flatMap(({panel}) => (panel.targets ?? []).map((target) => ({panel, target})))
}

/** A deep copy of the first real dashboard that has a PromQL rate() panel: the base every bad fixture mutates. */
function baseDashboard(): {dashboard: Dashboard; panel: Panel; target: Target} {
  for (const {dashboard} of realDashboards()) {
    const copy = structuredClone(dashboard)
    const found = targetsOf(copy).find(({target}) => datasourceType(target) === 'prometheus' && /\brate\(/.test(target.expr ?? '') && target.expr!.includes('$__rate_interval'))
    if (found) return {dashboard: copy, ...found}
  }
  throw new Error('no dashboard in dashboards/ has a Prometheus rate() panel to build the bad fixtures from')
}

function datasourceType(target: Target): string | undefined {
  return typeof target.datasource === 'object' && target.datasource !== null ? target.datasource.type : undefined
}

function lint(dashboard: Dashboard): Finding[] {
  return lintDashboard(dashboard, GRAMMARS, {file: 'fixture.json'})
}

/** The findings of one rule; the test fails unless there is one naming this dashboard and panel (and refId). */
function expectFinding(findings: Finding[], rule: RuleId, dashboard: Dashboard, panel?: Panel, refId?: string): Finding {
  const finding = findings.find((f) => f.rule === rule && (panel === undefined || f.panel?.title === panel.title) && (refId === undefined || f.refId === refId))
  expect(finding, `no [${rule}] finding for panel ${panel?.title ?? '-'} among:\n${findings.map(formatFinding).join('\n')}`).toBeDefined()
  expect(finding!.dashboard).toMatchObject({title: dashboard.title, uid: dashboard.uid, file: 'fixture.json'})
  const line = formatFinding(finding!)
  expect(line).toContain(`dashboard ${JSON.stringify(dashboard.title)} (uid ${dashboard.uid})`)
  if (panel) {
    expect(finding!.panel).toEqual({id: panel.id, title: panel.title})
    expect(line).toContain(`panel ${JSON.stringify(panel.title)}`)
  }
  if (refId) expect(line).toContain(`› ${refId}:`)
  return finding!
}

/** A Loki panel and a Tempo panel appended to a copy (the dashboards may have none of their own). */
function withPanel(dashboard: Dashboard, panel: Panel): Panel {
  const ids = allPanels(dashboard).map(({panel: p}) => p.id ?? 0)
  const added = {...panel, id: Math.max(...ids) + 1}
  dashboard.panels = [...(dashboard.panels ?? []), added]
  return added
}

const LOKI = {type: 'loki', uid: 'loki'}
const TEMPO = {type: 'tempo', uid: 'tempo'}

describe('the dashboards the hub ships (dashboards/*.json)', () => {
  it('pass every lint rule, with every query parsed by its grammar', () => {
    const dashboards = realDashboards()
    expect(dashboards.length).toBeGreaterThan(0)
    const findings = lintDashboards(dashboards, GRAMMARS)
    expect(findings.map(formatFinding)).toEqual([])
    // Not a vacuous pass: there were queries to parse in every dashboard.
    for (const {file, dashboard} of dashboards) expect(targetsOf(dashboard).length, file).toBeGreaterThan(0)
  })

  it('each has a cluster variable that All turns into a regex matching every cluster', () => {
    for (const {dashboard} of realDashboards()) {
      expect(interpolate('up{cluster_id=~"$cluster"}', dashboard).text).toMatch(/^up\{cluster_id=~"(\.\*|\.\+|\(.*\))"\}$/)
    }
  })
})

describe('each rule fires on a bad copy of a real dashboard, naming the dashboard and the panel', () => {
  it('parse: a query that does not parse, with the position in the query as written', () => {
    const {dashboard, panel, target} = baseDashboard()
    const brace = target.expr!.indexOf('{')
    target.expr = `${target.expr!.slice(0, brace)}{{${target.expr!.slice(brace + 1)}`
    const finding = expectFinding(lint(dashboard), 'parse', dashboard, panel, target.refId)
    expect(finding.message).toMatch(/the PromQL does not parse at 1:\d+/)
    expect(finding.position).toMatchObject({line: 1})
    expect(finding.position!.column).toBeGreaterThan(brace)
    expect(finding.position!.column).toBeLessThanOrEqual(brace + 2)
    expect(finding.expression).toBe(target.expr)
  })

  it('parse: an unclosed parenthesis is reported at the end; a second line gives line 2', () => {
    const {dashboard, panel, target} = baseDashboard()
    target.expr = `sum(\n  rate(x_total{cluster_id=~"$cluster"}[$__rate_interval])`
    const finding = expectFinding(lint(dashboard), 'parse', dashboard, panel, target.refId)
    expect(finding.position).toMatchObject({line: 2})
    expect(finding.message).toContain('(at the end)')
  })

  it('parse: LogQL and TraceQL are parsed with their own grammars', () => {
    const {dashboard} = baseDashboard()
    const logs = withPanel(dashboard, {type: 'logs', title: 'Broken logs', datasource: LOKI, targets: [{refId: 'L', datasource: LOKI, expr: '{cluster_id=~"$cluster"} |= '}]})
    const traces = withPanel(dashboard, {
      type: 'traces',
      title: 'Broken traces',
      datasource: TEMPO,
      targets: [{refId: 'T', datasource: TEMPO, queryType: 'traceql', query: '{ resource.cluster.id =~ "$cluster" && }'}],
    })
    const findings = lint(dashboard)
    expect(expectFinding(findings, 'parse', dashboard, logs, 'L').message).toContain('LogQL does not parse')
    expect(expectFinding(findings, 'parse', dashboard, traces, 'T').message).toContain('TraceQL does not parse')
  })

  it('datasource: an unknown uid on the panel, a type that does not match on a target, a legacy name', () => {
    const {dashboard, panel, target} = baseDashboard()
    panel.datasource = {type: 'prometheus', uid: 'P1809F7CD0C75ACF3'}
    target.datasource = {type: 'loki', uid: 'prometheus'}
    const findings = lint(dashboard)
    expect(expectFinding(findings, 'datasource', dashboard, panel).message).toContain('unknown datasource uid "P1809F7CD0C75ACF3"')
    expect(expectFinding(findings, 'datasource', dashboard, panel, target.refId).message).toContain('the provisioned prometheus is a prometheus datasource')

    const legacy = baseDashboard()
    legacy.target.datasource = 'Prometheus'
    expect(expectFinding(lint(legacy.dashboard), 'datasource', legacy.dashboard, legacy.panel, legacy.target.refId).message).toContain('legacy string form')
  })

  it('datasource: a variable passes only when it is an import input or a datasource variable of the right type', () => {
    const {dashboard, panel, target} = baseDashboard()
    panel.datasource = {type: 'prometheus', uid: '${DS_PROMETHEUS}'}
    target.datasource = {type: 'prometheus', uid: '${DS_PROMETHEUS}'}
    expectFinding(lint(dashboard), 'datasource', dashboard, panel, target.refId)
    dashboard.__inputs = [{name: 'DS_PROMETHEUS', label: 'Prometheus', description: '', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus'}]
    expect(lint(dashboard).filter((f) => f.rule === 'datasource')).toEqual([])

    dashboard.templating!.list!.push({name: 'datasource', type: 'datasource', query: 'loki'})
    target.datasource = {uid: '$datasource'}
    expect(expectFinding(lint(dashboard), 'datasource', dashboard, panel, target.refId).message).toContain("the target queries loki but the panel's datasource is prometheus")
    dashboard.templating!.list!.at(-1)!.query = 'prometheus'
    expect(lint(dashboard).filter((f) => f.rule === 'datasource')).toEqual([])
  })

  it('rate-interval: a fixed range in rate() and in *_over_time of a counter; a fixed LogQL range', () => {
    const {dashboard, panel, target} = baseDashboard()
    target.expr = target.expr!.replaceAll('$__rate_interval', '5m')
    const finding = expectFinding(lint(dashboard), 'rate-interval', dashboard, panel, target.refId)
    expect(finding.message).toMatch(/over \[5m\]: use \[\$__rate_interval\]/)
    expect(target.expr.slice(finding.position!.offset, finding.position!.offset + 2)).toBe('5m')

    const over = baseDashboard()
    over.target.expr = 'max_over_time(inference_requests_total{cluster_id=~"$cluster"}[10m])'
    expectFinding(lint(over.dashboard), 'rate-interval', over.dashboard, over.panel, over.target.refId)

    const logs = baseDashboard()
    const panel2 = withPanel(logs.dashboard, {
      type: 'timeseries',
      title: 'Log rate',
      datasource: LOKI,
      fieldConfig: {defaults: {unit: 'short'}},
      targets: [{refId: 'L', datasource: LOKI, expr: 'sum(rate({cluster_id=~"$cluster"}[5m]))'}],
    })
    expectFinding(lint(logs.dashboard), 'rate-interval', logs.dashboard, panel2, 'L')
    panel2.targets![0]!.expr = 'sum(rate({cluster_id=~"$cluster"}[$__auto]))'
    expect(lint(logs.dashboard)).toEqual([])
  })

  it('rate-interval: a gauge over a fixed window is fine', () => {
    const {dashboard, target} = baseDashboard()
    target.expr = 'max_over_time(DCGM_FI_DEV_GPU_TEMP{cluster_id=~"$cluster"}[10m])'
    expect(lint(dashboard)).toEqual([])
  })

  it('counter: a counter summed raw, divided raw, or under another function; never fooled by strings or label names', () => {
    const cases = [
      ['sum(inference_requests_total{cluster_id=~"$cluster"})', 'as an instant vector'],
      ['inference_request_duration_seconds_sum{cluster_id=~"$cluster"} / inference_request_duration_seconds_count{cluster_id=~"$cluster"}', 'as an instant vector'],
      ['delta(inference_requests_total{cluster_id=~"$cluster"}[$__rate_interval])', 'inside delta()'],
      ['sum({__name__="inference_requests_total", cluster_id=~"$cluster"})', 'as an instant vector'],
    ] as const
    for (const [expr, how] of cases) {
      const {dashboard, panel, target} = baseDashboard()
      target.expr = expr
      expect(expectFinding(lint(dashboard), 'counter', dashboard, panel, target.refId).message).toContain(how)
    }
    const fine = [
      'sum by (cluster_id) (increase(kube_pod_container_status_restarts_total{cluster_id=~"$cluster"}[$__rate_interval]))',
      'histogram_quantile(0.99, sum by (le) (rate(inference_request_duration_seconds_bucket{cluster_id=~"$cluster"}[$__rate_interval])))',
      'label_replace(up{cluster_id=~"$cluster", job_total="x"}, "name", "$1", "job", "(.*)_total")',
      'sum(irate(inference_requests_total{cluster_id=~"$cluster"}[$__rate_interval] offset 5m))',
    ]
    for (const expr of fine) {
      const {dashboard, target} = baseDashboard()
      target.expr = expr
      expect(lint(dashboard).map(formatFinding), expr).toEqual([])
    }
  })

  it('cluster-filter: a PromQL selector without it, with = instead of =~, or with a fixed value', () => {
    for (const matcher of ['', ', cluster_id="$cluster"', ', cluster_id=~"edge-1"']) {
      const {dashboard, panel, target} = baseDashboard()
      target.expr = `sum(up{job="x"${matcher}}) / sum(up{cluster_id=~"$cluster"})`
      const finding = expectFinding(lint(dashboard), 'cluster-filter', dashboard, panel, target.refId)
      expect(finding.message).toContain('up{job="x"')
      expect(finding.position).toMatchObject({line: 1, column: 5})
    }
    for (const written of ['${cluster}', '[[cluster]]', '${cluster:regex}']) {
      const {dashboard, target} = baseDashboard()
      target.expr = `sum(up{cluster_id=~"${written}"})`
      expect(lint(dashboard).map(formatFinding), written).toEqual([])
    }
  })

  it('cluster-filter: a LogQL stream selector and a TraceQL spanset without it', () => {
    const {dashboard} = baseDashboard()
    const logs = withPanel(dashboard, {type: 'logs', title: 'Gateway logs', datasource: LOKI, targets: [{refId: 'L', datasource: LOKI, expr: '{service_name="otel-gateway"} |= "error"'}]})
    const traces = withPanel(dashboard, {type: 'traces', title: 'Slow spans', datasource: TEMPO, targets: [{refId: 'T', datasource: TEMPO, queryType: 'traceql', query: '{ duration > 1s }'}]})
    const findings = lint(dashboard)
    expect(expectFinding(findings, 'cluster-filter', dashboard, logs, 'L').message).toContain('stream selector {service_name="otel-gateway"}')
    expect(expectFinding(findings, 'cluster-filter', dashboard, traces, 'T').message).toContain('spanset { duration > 1s }')
    logs.targets![0]!.expr = '{service_name="otel-gateway", cluster_id=~"$cluster"} |= "error"'
    traces.targets![0]!.query = '{ resource.cluster.id =~ "$cluster" && duration > 1s }'
    expect(lint(dashboard).map(formatFinding)).toEqual([])
  })

  it('cluster-variable: missing, single-select, or without All', () => {
    const missing = baseDashboard().dashboard
    missing.templating!.list = missing.templating!.list!.filter((v) => v.name !== 'cluster')
    expectFinding(lint(missing), 'cluster-variable', missing)
    const single = baseDashboard().dashboard
    const variable = single.templating!.list!.find((v) => v.name === 'cluster')!
    variable.multi = false
    variable.includeAll = false
    const messages = lint(single)
      .filter((f) => f.rule === 'cluster-variable')
      .map((f) => f.message)
    expect(messages).toEqual([expect.stringContaining('not multi-select'), expect.stringContaining('no All option')])
  })

  it('unit: a panel that draws numbers without a unit; a text panel needs none', () => {
    const {dashboard, panel} = baseDashboard()
    delete panel.fieldConfig!.defaults!.unit
    withPanel(dashboard, {type: 'text', title: 'About', options: {content: 'hello'}})
    const findings = lint(dashboard)
    expectFinding(findings, 'unit', dashboard, panel)
    expect(findings.filter((f) => f.rule === 'unit')).toHaveLength(1)
  })

  it('panel-id: two panels with one id, found inside a collapsed row too; a panel without an id', () => {
    const {dashboard, panel} = baseDashboard()
    const nested = {...structuredClone(panel), title: 'Nested copy'}
    withPanel(dashboard, {type: 'row', title: 'Collapsed', collapsed: true, panels: [nested]})
    const finding = expectFinding(lint(dashboard), 'panel-id', dashboard, nested)
    expect(finding.message).toContain(`id ${panel.id} is also the id of panel ${JSON.stringify(panel.title)}`)
    delete nested.id
    expect(lint(dashboard).find((f) => f.rule === 'panel-id')?.message).toBe('the panel has no id')
  })

  it('queries inside a collapsed row are checked like the others', () => {
    const {dashboard, panel, target} = baseDashboard()
    dashboard.panels = dashboard.panels!.filter((p) => p !== panel)
    target.expr = 'sum(up)'
    withPanel(dashboard, {type: 'row', title: 'Collapsed', collapsed: true, panels: [panel]})
    expectFinding(lint(dashboard), 'cluster-filter', dashboard, panel, target.refId)
  })

  it('uid: missing, malformed, or the same in two dashboards', () => {
    const none = baseDashboard().dashboard
    delete none.uid
    expect(lint(none).find((f) => f.rule === 'uid')?.message).toContain('has no uid')
    const bad = baseDashboard().dashboard
    bad.uid = 'has spaces and is far too long for a grafana uid'
    expect(lint(bad).find((f) => f.rule === 'uid')?.message).toContain('not 1-40 characters')
    const [one, two] = [baseDashboard().dashboard, baseDashboard().dashboard]
    two.title = 'Another'
    const findings = lintDashboards(
      [
        {dashboard: one, file: 'a.json'},
        {dashboard: two, file: 'b.json'},
      ],
      GRAMMARS,
    )
    expect(findings.map(formatFinding)).toEqual([expect.stringMatching(/^b\.json: dashboard "Another" .*\[uid\] uid \S+ is also the uid of a\.json$/)])
  })

  it('variable: a query that uses a variable nobody defines', () => {
    const {dashboard, panel, target} = baseDashboard()
    target.expr = 'sum(up{cluster_id=~"$cluster", namespace=~"$namespace"})'
    expect(expectFinding(lint(dashboard), 'variable', dashboard, panel, target.refId).message).toContain('$namespace is not a variable')
  })
})

describe('variables substituted as Grafana does', () => {
  const dashboard: Dashboard = {
    templating: {
      list: [
        {name: 'cluster', type: 'query', multi: true, includeAll: true, allValue: '.*', current: {value: ['$__all']}},
        {name: 'node', type: 'query', multi: true, includeAll: true, current: {value: ['$__all']}, options: [{value: 'n.1'}, {value: 'n2'}]},
        {name: 'step', type: 'interval', query: '1m,5m'},
      ],
    },
  }

  it('All is the allValue, in each of Grafana’s syntaxes; without an allValue, every option as a regex', () => {
    expect(interpolate('a{c=~"$cluster"} b{c=~"${cluster}"} c{c=~"[[cluster]]"}', dashboard).text).toBe('a{c=~".*"} b{c=~".*"} c{c=~".*"}')
    expect(interpolate('x{node=~"$node"}', dashboard).text).toBe('x{node=~"(n\\.1|n2)"}')
  })

  it('chosen values: one cluster escaped, several as an alternation; formats csv and pipe', () => {
    expect(interpolate('$cluster', dashboard, {values: {cluster: 'edge.1'}}).text).toBe('edge\\.1')
    expect(interpolate('$cluster', dashboard, {values: {cluster: ['a', 'b']}}).text).toBe('(a|b)')
    expect(interpolate('${cluster:csv} ${cluster:pipe}', dashboard, {values: {cluster: ['a', 'b']}}).text).toBe('a,b a|b')
  })

  it('built-ins: $__rate_interval, $__interval, $__range and friends, configurable', () => {
    expect(interpolate('[$__rate_interval] [$__interval] [$__range] $__range_s $__interval_ms', dashboard).text).toBe('[1m] [15s] [1h] 3600 15000')
    expect(interpolate('[$__rate_interval]', dashboard, {builtins: {rateInterval: '2m', interval: '30s', range: '6h'}}).text).toBe('[2m]')
    expect(interpolate('[$step]', dashboard).text).toBe('[1m]')
  })

  it('maps offsets back to the text as written, and leaves $1 and unknown names alone', () => {
    const original = 'rate(x{c=~"$cluster"}[$__rate_interval]) + $nosuch + "$1"'
    const result = interpolate(original, dashboard)
    expect(result.text).toBe('rate(x{c=~".*"}[1m]) + $nosuch + "$1"')
    expect(result.unknown).toEqual(['nosuch'])
    const inText = result.text.indexOf('1m')
    expect(original.slice(result.originalOffset(inText))).toMatch(/^\$__rate_interval/)
    expect(original.slice(result.originalOffset(result.text.indexOf('$nosuch')))).toMatch(/^\$nosuch/)
  })
})
