import {describe, expect, it} from 'vitest'
import {ALL, dashboardQueries, goDuration, panelsOf, rateInterval, roundInterval, type Dashboard, type Datasource, type Variable} from '../../src/dashboards/queries.js'

const DATASOURCES: Datasource[] = [
  {uid: 'prometheus', type: 'prometheus', isDefault: true, jsonData: {timeInterval: '30s'}},
  {uid: 'loki', type: 'loki'},
  {uid: 'tempo', type: 'tempo'},
]
const NOW = Date.parse('2026-11-28T12:00:07Z')
const PROM = {type: 'prometheus', uid: 'prometheus'}
const CLUSTER: Variable = {name: 'cluster', type: 'query', multi: true, includeAll: true, allValue: '.*', current: {value: ['$__all']}}

function dashboard(panels: Dashboard['panels'], variables: Variable[] = [CLUSTER]): Dashboard {
  return {uid: 'd', title: 'D', time: {from: 'now-1h', to: 'now'}, templating: {list: variables}, panels}
}
const one = (expr: string, extra: Record<string, unknown> = {}) => dashboard([{id: 1, type: 'timeseries', title: 'P', gridPos: {w: 12}, datasource: PROM, targets: [{refId: 'A', expr, ...extra}]}])
const exprs = (d: Dashboard, cluster: typeof ALL | string[] = ALL) => dashboardQueries(d, {datasources: DATASOURCES, now: NOW, variables: {cluster}}).queries.map((q) => q.expr)

describe('dashboard queries as Grafana sends them', () => {
  it('finds the panels inside rows and skips the rows and hidden targets', () => {
    const d = dashboard([
      {id: 1, type: 'row', title: 'R', panels: [{id: 2, type: 'stat', title: 'inside', targets: [{refId: 'A', expr: 'up'}]}]},
      {
        id: 3,
        type: 'stat',
        title: 'outside',
        targets: [
          {refId: 'A', expr: 'up'},
          {refId: 'B', expr: 'up', hide: true},
        ],
      },
    ])
    expect(panelsOf(d).map((p) => p.title)).toEqual(['R', 'inside', 'outside'])
    const {queries} = dashboardQueries(d, {datasources: DATASOURCES, now: NOW})
    expect(queries.map((q) => `${q.panel}/${q.refId}`)).toEqual(['inside/A', 'outside/A'])
  })

  it('$cluster in every spelling is the allValue for All, the escaped value for one cluster, (a|b) for two', () => {
    const d = one('up{a=~"$cluster",b=~"${cluster}",c=~"${cluster:regex}",d=~"[[cluster]]"}')
    expect(exprs(d)).toEqual(['up{a=~".*",b=~".*",c=~".*",d=~".*"}'])
    expect(exprs(d, ['edge-1'])).toEqual(['up{a=~"edge-1",b=~"edge-1",c=~"edge-1",d=~"edge-1"}'])
    expect(exprs(d, ['a', 'b'])).toEqual(['up{a=~"(a|b)",b=~"(a|b)",c=~"(a|b)",d=~"(a|b)"}'])
    // Prometheus escapes regex metacharacters so the backslash survives the string; :regex does not.
    expect(exprs(one('up{a=~"$cluster",c=~"${cluster:regex}"}'), ['lke.1'])).toEqual(['up{a=~"lke\\\\.1",c=~"lke\\.1"}'])
  })

  it('All without an allValue is every value the variable has', () => {
    const d = one('up{cluster_id=~"$cluster"}')
    d.templating!.list = [{...CLUSTER, allValue: null}]
    const {queries} = dashboardQueries(d, {datasources: DATASOURCES, now: NOW, variableValues: {cluster: ['hub', 'edge']}})
    expect(queries[0]!.expr).toBe('up{cluster_id=~"(hub|edge)"}')
  })

  it('$__rate_interval, $__interval and $__range for the last hour at a 30 s scrape interval', () => {
    const [q] = dashboardQueries(one('rate(x[$__rate_interval]) / $__interval_ms + $__range_s + count_over_time(x[$__interval]) + x[$__range]'), {datasources: DATASOURCES, now: NOW}).queries
    expect(q!.expr).toBe('rate(x[2m0s]) / 30000 + 3600 + count_over_time(x[30s]) + x[3600s]')
    expect(q!.stepMs).toBe(30_000)
    expect(q!.request.params.step).toBe('30')
    // Start and end aligned down to the step, as Grafana aligns them.
    expect(Number(q!.request.params.end) % 30).toBe(0)
    expect(Number(q!.request.params.end) - Number(q!.request.params.start)).toBe(3600)
  })

  it('a longer range with few data points: a coarser step and $__rate_interval = interval + scrape interval', () => {
    const d = one('rate(x[$__rate_interval])')
    d.panels![0]!.maxDataPoints = 100
    const [q] = dashboardQueries(d, {datasources: DATASOURCES, now: NOW, range: {from: 'now-6h', to: 'now'}}).queries
    // 6 h / 100 points = 216 s, rounded to 5 m; rate interval max(5m + 30s, 4 × 30s).
    expect(q!.stepMs).toBe(300_000)
    expect(q!.expr).toBe('rate(x[5m30s])')
  })

  it('the helpers follow Grafana: nice intervals, the rate-interval rule, Go durations', () => {
    expect([roundInterval(3600), roundInterval(20_000), roundInterval(216_000)]).toEqual([5000, 20_000, 300_000])
    expect(rateInterval(30_000, '30s')).toBe(120_000)
    expect(rateInterval(30_000, '')).toBe(60_000) // Grafana's 15 s default scrape interval
    expect([goDuration(120_000), goDuration(90_000), goDuration(3_630_000), goDuration(500)]).toEqual(['2m0s', '1m30s', '1h0m30s', '500ms'])
  })

  it('instant targets are instant queries, both flags give both, neither is a range query', () => {
    const d = dashboard([
      {
        id: 1,
        type: 'table',
        title: 'T',
        datasource: PROM,
        targets: [
          {refId: 'A', expr: 'up', instant: true, format: 'table'},
          {refId: 'B', expr: 'up', instant: true, range: true},
          {refId: 'C', expr: 'up'},
        ],
      },
    ])
    const {queries} = dashboardQueries(d, {datasources: DATASOURCES, now: NOW})
    expect(queries.map((q) => `${q.refId}:${q.kind}:${q.request.path}`)).toEqual(['A:instant:/api/v1/query', 'B:range:/api/v1/query_range', 'B:instant:/api/v1/query', 'C:range:/api/v1/query_range'])
    expect(queries[0]!.request.params.time).toBe(String(NOW / 1000))
  })

  it('Loki targets go to query_range in nanoseconds with $__auto as the step; Tempo TraceQL to /api/search', () => {
    const d = dashboard([
      {id: 1, type: 'timeseries', title: 'L', datasource: {type: 'loki', uid: 'loki'}, targets: [{refId: 'A', expr: 'sum(rate({cluster_id=~"$cluster"}[$__auto]))'}]},
      {id: 2, type: 'table', title: 'T', datasource: {type: 'tempo', uid: 'tempo'}, targets: [{refId: 'A', queryType: 'traceql', query: '{resource.cluster.id=~"$cluster"}', limit: 5}]},
      {
        id: 3,
        type: 'table',
        title: 'S',
        datasource: {type: 'tempo', uid: 'tempo'},
        targets: [{refId: 'A', queryType: 'traceqlSearch', filters: [{id: 'x', scope: 'resource', tag: 'service.name', operator: '=', value: ['bert']}]}],
      },
    ])
    const {queries} = dashboardQueries(d, {datasources: DATASOURCES, now: NOW, variables: {cluster: ['edge-1']}})
    const [loki, tempo, search] = queries
    expect(loki!.request.path).toBe('/loki/api/v1/query_range')
    expect(loki!.expr).toBe(`sum(rate({cluster_id=~"edge-1"}[${loki!.request.params.step}s]))`)
    expect(loki!.request.params.end).toBe(`${NOW}000000`)
    expect(tempo!.request).toMatchObject({backend: 'tempo', path: '/api/search', params: {q: '{resource.cluster.id=~"edge-1"}', limit: '5'}})
    expect(search!.expr).toBe('{resource.service.name="bert"}')
  })

  it('a datasource variable resolves to the provisioned datasource of its type; an unknown uid is reported, not guessed', () => {
    const d = dashboard(
      [
        {id: 1, type: 'stat', title: 'via variable', datasource: {uid: '${ds}'}, targets: [{refId: 'A', expr: 'up'}]},
        {id: 2, type: 'stat', title: 'unknown', datasource: {type: 'prometheus', uid: 'nope'}, targets: [{refId: 'A', expr: 'up'}]},
      ],
      [CLUSTER, {name: 'ds', type: 'datasource', query: 'prometheus'}],
    )
    const {queries, unsupported} = dashboardQueries(d, {datasources: DATASOURCES, now: NOW})
    expect(queries.map((q) => `${q.panel}:${q.request.datasourceUid}`)).toEqual(['via variable:prometheus'])
    expect(unsupported).toEqual([{dashboard: 'D', panel: 'unknown', refId: 'A', reason: 'unknown datasource {"type":"prometheus","uid":"nope"}'}])
  })
})
