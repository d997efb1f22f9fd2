import {createHash} from 'node:crypto'
import {parser} from '@prometheus-io/lezer-promql'
import {describe, expect, it} from 'vitest'
import {chartAssets} from '../../src/services/report.js'
import type {Backend, PrometheusSeries} from '../../src/verify/backends.js'
import type {VerifyReport} from '../../src/verify/checks.js'
import {CHART_KINDS, chartKinds, clusterHistory, HISTORY_STEP_S, HISTORY_WINDOW_S, type History} from '../../src/verify/history.js'
import {escapeHtml, renderHtmlReport, scriptJson} from '../../src/verify/html.js'

const HOSTILE = '</script><script>alert("x")</script><!--&'

function report(overrides: Partial<VerifyReport> = {}): VerifyReport {
  return {
    ok: false,
    federation: 'fed',
    checkedAt: '2026-11-28T12:00:00.000Z',
    queries: 8,
    summary: {ok: 1, warn: 0, fail: 1},
    groups: [
      {
        name: 'federation',
        checks: [
          {id: 'clusters-report', name: 'every cluster reports', status: 'fail', message: `1 of 2 silent: ${HOSTILE}`, hint: 'Is <its agent> running?'},
          {id: 'no-unknown', name: 'no unknown cluster ids', status: 'ok', message: 'fine'},
        ],
      },
    ],
    ...overrides,
  }
}

/** A Backend that answers range queries from a function and counts what it was asked. */
function fakePrometheus(answer: (query: string, params: URLSearchParams) => PrometheusSeries[] | Error): Backend & {asked: string[]} {
  const asked: string[] = []
  return {
    name: 'Prometheus',
    describe: 'test',
    asked,
    async get(path: string) {
      const [endpoint, query] = path.split('?')
      expect(endpoint).toBe('api/v1/query_range')
      const params = new URLSearchParams(query)
      asked.push(params.get('query')!)
      const result = answer(params.get('query')!, params)
      if (result instanceof Error) return {status: 'error', error: result.message}
      return {status: 'success', data: {resultType: 'matrix', result}}
    },
  }
}

/** Every chart kind for these clusters, full hour, synthetic values. */
function syntheticHistory(names: string[]): History {
  const points = HISTORY_WINDOW_S / HISTORY_STEP_S + 1
  const wave = (base: number, i: number, c: number) => Math.round((base + Math.sin((i + c) / 7) * base * 0.2) * 100) / 100
  return {
    start: 1_795_880_000,
    step: HISTORY_STEP_S,
    points,
    kinds: chartKinds(30),
    clusters: names.map((name, c) => ({
      name,
      role: c === 0 ? 'hub' : 'edge',
      charts: {
        age: [{label: 'age', values: Array.from({length: points}, (_, i) => wave(15, i, c))}],
        samples: [{label: 'samples/s', values: Array.from({length: points}, (_, i) => wave(110, i, c))}],
        queue: [{label: 'fill', values: Array.from({length: points}, (_, i) => wave(3, i, c))}],
        up: [
          {label: 'targets', values: Array.from({length: points}, () => 6)},
          {label: 'up', values: Array.from({length: points}, (_, i) => (i % 40 === 0 ? 5 : 6))},
        ],
      },
    })),
    queries: 4,
    errors: {},
  }
}

describe('the chart queries', () => {
  it('each parses with Prometheus’s own grammar', () => {
    for (const kind of chartKinds(30)) {
      const errors: number[] = []
      parser.parse(kind.query).iterate({
        enter: (node) => {
          if (node.type.isError) errors.push(node.from)
        },
      })
      expect(errors, `${kind.id}: ${kind.query}`).toEqual([])
    }
  })

  it('samples/s is the rate of data points the collectors sent to the gateway, over a window of the scrape interval', () => {
    const samples = (s: number): string => chartKinds(s).find((k) => k.id === 'samples')!.query
    expect(samples(15)).toBe('sum by (cluster_id) (rate(otelcol_exporter_sent_metric_points_total{job="otel-collector", exporter="otlp_grpc/gateway", cluster_id!=""}[60s]))')
    // Four scrape intervals, never under two chart steps.
    expect(samples(30)).toContain('[120s]')
    expect(samples(5)).toContain('[60s]')
  })

  it('queue fill is the fullest queue of any collector of the cluster, edges included (not only the gateway)', () => {
    const queue = chartKinds(15).find((k) => k.id === 'queue')!.query
    expect(queue).toBe('100 * max by (cluster_id) (otelcol_exporter_queue_size{cluster_id!=""} / otelcol_exporter_queue_capacity{cluster_id!=""})')
    expect(queue).not.toContain('otel-gateway')
  })
})

describe('clusterHistory: the last hour in four range queries', () => {
  it('asks the same four queries for 1 and for 100 clusters, grouped by cluster_id', async () => {
    const counts: number[] = []
    for (const n of [1, 100]) {
      const prometheus = fakePrometheus(() => [])
      const clusters = Array.from({length: n}, (_, i) => ({name: `c${i}`, role: i === 0 ? ('hub' as const) : ('edge' as const)}))
      const history = await clusterHistory(prometheus, clusters, {end: 1_795_886_000, scrapeIntervalS: 30})
      counts.push(prometheus.asked.length)
      expect(history.queries).toBe(prometheus.asked.length)
      expect(history.clusters).toHaveLength(n)
      for (const query of prometheus.asked) expect(query).not.toMatch(/c\d/)
    }
    expect(counts).toEqual([CHART_KINDS.length, CHART_KINDS.length])
  })

  it('puts each value at its step over the last hour ending now, keeps clusters apart, and leaves gaps as null', async () => {
    const end = 1_795_886_017
    const prometheus = fakePrometheus((query, params) => {
      expect(Number(params.get('end'))).toBe(end)
      expect(Number(params.get('end')) - Number(params.get('start'))).toBe(HISTORY_WINDOW_S)
      expect(Number(params.get('step'))).toBe(HISTORY_STEP_S)
      if (!query.startsWith('time()')) return []
      return [
        {
          metric: {cluster_id: 'hub'},
          values: [
            [end - 60, '12.3456'],
            [end, '2'],
          ],
        },
        {metric: {cluster_id: 'edge'}, values: [[end - HISTORY_WINDOW_S, '1']]},
        {metric: {cluster_id: 'stranger'}, values: [[end, '5']]},
      ]
    })
    const history = await clusterHistory(
      prometheus,
      [
        {name: 'hub', role: 'hub'},
        {name: 'edge', role: 'edge'},
      ],
      {end: end + 0.9, scrapeIntervalS: 30},
    )
    expect(history.points).toBe(121)
    const [hub, edge] = history.clusters
    const hubAge = hub!.charts.age[0]!.values
    expect(hubAge[120]).toBe(2)
    expect(hubAge[118]).toBe(12.35)
    expect(hubAge.filter((v) => v !== null)).toHaveLength(2)
    expect(edge!.charts.age[0]!.values[0]).toBe(1)
    expect(hub!.charts.samples).toEqual([])
    expect(history.clusters.map((c) => c.name)).toEqual(['hub', 'edge'])
  })

  it('a query Prometheus rejects leaves that chart kind empty with its reason; the others still come', async () => {
    const prometheus = fakePrometheus((query) => (query.includes('otelcol_exporter_queue_size') ? new Error('parse error at char 3') : [{metric: {cluster_id: 'hub'}, values: [[1000, '1']]}]))
    const history = await clusterHistory(prometheus, [{name: 'hub', role: 'hub'}], {end: 1000, scrapeIntervalS: 30})
    expect(history.errors).toEqual({queue: expect.stringContaining('parse error at char 3')})
    expect(history.clusters[0]!.charts.queue).toEqual([])
    expect(history.clusters[0]!.charts.up).toHaveLength(1)
  })
})

describe('renderHtmlReport: one self-contained page', () => {
  const assets = chartAssets()
  const history = syntheticHistory(['hub', HOSTILE])
  const html = renderHtmlReport({report: report(), history, source: 'http://127.0.0.1:9090'}, assets)

  it('inlines uPlot from the installed package', () => {
    expect(assets.script).toMatch(/^\/\*! https:\/\/github\.com\/leeoniya\/uPlot \(v1\.6\.32\) \*\//)
    expect(html).toContain(assets.script)
    expect(html).toContain(assets.css.slice(0, 200))
  })

  it('refers to nothing on the network: no src, href, @import or url(), a CSP that forbids loading, and the only URLs are text', () => {
    const markup = html.replace(/(<(script|style)\b[^>]*>)[\s\S]*?(<\/\2>)/g, '$1$3')
    expect(markup).not.toMatch(/\s(src|href|srcset|action|formaction|poster|data|background)\s*=/i)
    for (const network of [/@import/i, /url\(/i, /\bfetch\(/, /XMLHttpRequest/, /\bimport\(/, /WebSocket/, /sendBeacon/, /EventSource/, /\.src\s*=/]) expect(html).not.toMatch(network)
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-/)
    // uPlot's licence comment and the source line the page prints are the only URLs, both plain text.
    const urls = [...html.matchAll(/https?:\/\/[^\s"')<;]+/g)].map((m) => m[0])
    expect(new Set(urls)).toEqual(new Set(['https://github.com/leeoniya/uPlot', 'http://127.0.0.1:9090']))
  })

  it('allows exactly its two inline scripts by hash', () => {
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!)
    expect(scripts).toHaveLength(2)
    const csp = /script-src ([^;]+);/.exec(html.replaceAll('&#39;', "'"))![1]!
    for (const script of scripts) expect(csp).toContain(`sha256-${createHash('sha256').update(script).digest('base64')}`)
  })

  it('escapes every text from outside: check messages, hints, cluster names', () => {
    expect(html).not.toContain('<script>alert')
    expect(html).toContain(escapeHtml(`1 of 2 silent: ${HOSTILE}`))
    expect(html).toContain('hint: Is &lt;its agent&gt; running?')
    expect(html).toContain(`<h3>${escapeHtml(HOSTILE)}<span class="role">edge</span></h3>`)
    // The page has exactly the script elements it writes: 2 inline scripts and the JSON data.
    expect(html.match(/<script\b/g)).toHaveLength(3)
  })

  it('embeds the data as JSON without a single "<", and it reads back the same', () => {
    const json = /<script type="application\/json" id="fedobs-data">([\s\S]*?)<\/script>/.exec(html)![1]!
    expect(json).not.toContain('<')
    const data = JSON.parse(json)
    expect(data.clusters.map((c: {name: string}) => c.name)).toEqual(['hub', HOSTILE])
    expect(data.clusters[1].charts.samples[0].values).toEqual(history.clusters[1]!.charts.samples[0]!.values)
    expect(scriptJson({a: '\u2028'})).toBe('{"a":"\\u2028"}')
  })

  it('the check table is static HTML: every check a row with status, group, check and detail; the verdict and counts above it', () => {
    const rows = [...html.matchAll(/<tr class="(ok|warn|fail)"><td class="status">[^<]+<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>/g)].map((m) => [m[1], m[2], m[3]])
    expect(rows).toEqual([
      ['fail', 'federation', 'every cluster reports'],
      ['ok', 'federation', 'no unknown cluster ids'],
    ])
    expect(html).toContain('<span class="verdict failed">✖ failed</span>')
    expect(html).toMatch(/<span>1 ok<\/span><span>0 warnings<\/span><span>1 failed<\/span>/)
    expect(html).toContain('<time datetime="2026-11-28T12:00:00.000Z">')
    expect(html).toContain('<title>fedobs health report: fed</title>')
  })

  it('has a figure per cluster and chart kind with its newest value as text, and says when a kind failed', () => {
    expect(html.match(/<figure class="chart"/g)).toHaveLength(2 * CHART_KINDS.length)
    expect(html).toMatch(/id="chart-0-up" data-kind="up" data-points="242"><figcaption>Scrape targets up<span class="now">now: targets 6, up 5<\/span>/)
    const failed = renderHtmlReport({report: report(), history: {...syntheticHistory(['hub']), errors: {queue: 'Prometheus rejected a query: boom'}}}, assets)
    expect(failed).toContain('<li class="error">Exporter queue fill: Prometheus rejected a query: boom</li>')
    expect(failed).toMatch(/id="chart-0-queue"[^>]*><figcaption>Exporter queue fill \(%\)<span class="now">query failed<\/span>/)
  })

  it('for 100 clusters stays one page of bounded size (the measure is printed)', () => {
    const names = Array.from({length: 100}, (_, i) => `edge-${String(i).padStart(3, '0')}`)
    const big = renderHtmlReport({report: report(), history: syntheticHistory(names)}, assets)
    const two = renderHtmlReport({report: report(), history: syntheticHistory(names.slice(0, 2))}, assets)
    const bytes = (text: string) => Buffer.byteLength(text)
    process.stderr.write(`html report size: 2 clusters ${bytes(two)} bytes, 100 clusters ${bytes(big)} bytes (synthetic full hour, ${HISTORY_WINDOW_S / HISTORY_STEP_S + 1} points per series)\n`)
    expect(big.match(/<figure class="chart"/g)).toHaveLength(100 * CHART_KINDS.length)
    // Per cluster: 5 series × 121 points of a few characters each, plus its figures.
    expect((bytes(big) - bytes(two)) / 98).toBeLessThan(6000)
  })
})
