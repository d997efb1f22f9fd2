import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import puppeteer, {type Browser, type Page} from 'puppeteer-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {orphans, SANDBOX_BINARIES} from '../../src/sandbox/control.js'
import {CHART_KINDS, chartKinds} from '../../src/verify/history.js'
import {CHART_COLORS} from '../../src/verify/html.js'
import {REPO, runCli, type CliResult} from '../helpers/cli.js'
import {expectDocument} from '../helpers/json-schemas.js'
import {requireBinaries} from '../helpers/testbed.js'
import {parseExportLines} from '../../src/sandbox/state.js'

/**
 * The HTML report of a real federation (the sandbox: real collectors, Prometheus and
 * kube-state-metrics behind `fedobs up`), opened in Debian's chromium: nothing is fetched, nothing
 * logs an error, every chart is drawn from real data, and the screenshot kept under test-results/
 * is not blank.
 */
const binaries = requireBinaries(SANDBOX_BINARIES)

/** Debian's chromium; missing, the test skips here and fails under CI (which installs it). */
function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const found = spawnSync('which', [name], {encoding: 'utf8'}).stdout?.trim()
    if (found) return found
  }
  if (process.env.CI) throw new Error('chromium is missing under CI: apt-get install chromium (.ci/run installs it)')
  return undefined
}
const chromium = findChromium()

const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'
const GHOST = 'fed-observability-ghost'
/** The report's queries for the example federation (scrapeInterval 30s). */
const CHART_KINDS_OF_SCRAPE = chartKinds(30)

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}

describe.skipIf(!binaries.ok || !chromium)('the HTML report in a real browser, on real data', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fedobs-report-browser-'))
  const sandboxDir = path.join(root, 'sandbox')
  const testbedDir = process.env.FEDOBS_TESTBED_DIR ?? path.join(homedir(), '.cache/fedobs/testbed')
  const base = {HOME: path.join(root, 'home'), FEDOBS_TESTBED_DIR: testbedDir, FEDOBS_SANDBOX_DIR: sandboxDir, LINODE_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined}
  let env: Record<string, string | undefined> = base
  const fedobs = (args: string[]): Promise<CliResult> => runCli(args, {env})
  const report = path.join(root, 'report.html')
  let browser: Browser | undefined

  beforeAll(async () => {
    const started = await runCli(['sandbox', 'start', '--no-build'], {env: base})
    expect(started.code, started.stderr).toBe(0)
    const exported = parseExportLines(started.stdout)
    env = {...base, ...exported}
    const up = await fedobs(['up', '-f', 'examples/fedobs.yaml', '--yes', '--verify-wait', '5m', '--json'])
    expect(up.code, up.stdout.slice(-3000) + up.stderr.slice(-3000)).toBe(0)
    // The report's samples/s is a rate of the collectors' own counters: wait until every cluster
    // has two of their samples at the hub (a rate over the report's window), as a CI job would.
    const samples = CHART_KINDS_OF_SCRAPE.find((k) => k.id === 'samples')!.query
    await waitUntil(async () => new Set((await promQuery(samples)).map((s) => s.metric.cluster_id)).size === 2, 300_000, `samples/s of ${HUB} and ${EDGE}: ${samples}`)
    browser = await puppeteer.launch({executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000})
  }, 900_000)

  afterAll(async () => {
    await browser?.close()
    const stop = await runCli(['sandbox', 'stop'], {env: base})
    const left = orphans(sandboxDir)
    rmSync(root, {recursive: true, force: true})
    expect(stop.code, stop.stderr).toBe(0)
    expect(left, 'sandbox processes left after stop').toEqual([])
  }, 300_000)

  /** An instant query to the sandbox's Prometheus (the hub's). */
  async function promQuery(query: string): Promise<Array<{metric: Record<string, string>; value: [number, string]}>> {
    const response = await fetch(`${env.FEDOBS_PROMETHEUS_URL}/api/v1/query?${new URLSearchParams({query})}`)
    const body = (await response.json()) as {status: string; error?: string; data: {result: Array<{metric: Record<string, string>; value: [number, string]}>}}
    if (body.status !== 'success') throw new Error(`${query}: ${body.error}`)
    return body.data.result
  }

  it('every agent and scraper of every cluster ships its own self-metrics to the hub (job otel-collector), told apart by pod and node', async () => {
    const capacity = await promQuery('otelcol_exporter_queue_capacity{job="otel-collector"}')
    for (const cluster of [HUB, EDGE]) {
      const pods = [...new Set(capacity.filter((s) => s.metric.cluster_id === cluster).map((s) => s.metric.k8s_pod_name ?? ''))].sort()
      expect(pods, `${cluster}: collectors with otelcol_exporter_queue_capacity at the hub`).toEqual([expect.stringMatching(/^otel-agent-/), expect.stringMatching(/^otel-scraper-/)])
      for (const s of capacity.filter((x) => x.metric.cluster_id === cluster)) {
        expect(s.metric, JSON.stringify(s.metric)).toMatchObject({
          cluster_role: cluster === HUB ? 'hub' : 'edge',
          exporter: 'otlp_grpc/gateway',
          k8s_namespace_name: 'observability',
          k8s_node_name: expect.stringMatching(/.+/),
        })
        expect(Number(s.value[1]), JSON.stringify(s.metric)).toBeGreaterThan(0)
      }
    }
    // The data points each cluster's collectors sent to the gateway keep growing.
    const sent = async (): Promise<Map<string, number>> =>
      new Map((await promQuery('sum by (cluster_id) (otelcol_exporter_sent_metric_points_total{job="otel-collector"})')).map((s) => [s.metric.cluster_id!, Number(s.value[1])]))
    const before = await sent()
    for (const cluster of [HUB, EDGE]) expect(before.get(cluster), `${cluster}: sent metric points`).toBeGreaterThan(0)
    await waitUntil(
      async () => {
        const now = await sent()
        return [HUB, EDGE].every((c) => (now.get(c) ?? 0) > before.get(c)!)
      },
      180_000,
      'otelcol_exporter_sent_metric_points_total{job="otel-collector"} grows for every cluster',
    )
    // A few dozen series per collector (measured, and bounded so a lost filter fails).
    const perCollector = await promQuery('count by (cluster_id, k8s_pod_name) ({job="otel-collector"})')
    process.stderr.write(`self-metrics series per collector at the hub: ${perCollector.map((s) => `${s.metric.cluster_id}/${s.metric.k8s_pod_name}=${s.value[1]}`).join(', ')}\n`)
    expect(perCollector).toHaveLength(4)
    for (const s of perCollector) expect(Number(s.value[1]), JSON.stringify(s.metric)).toBeLessThan(80)
  }, 240_000)

  it('report -o json: exit 0, the document of its schema, the file it names of the size it says', async () => {
    const run = await fedobs(['report', report, '-f', 'examples/fedobs.yaml', '-o', 'json'])
    expect(run.code, run.stderr).toBe(0)
    const doc = expectDocument('report', run.stdout)
    expect(doc).toMatchObject({file: report, ok: true, summary: {fail: 0}})
    expect(statSync(report).size).toBe(doc.bytes)
    process.stderr.write(`html report size, sandbox federation (2 clusters, real data): ${doc.bytes} bytes\n`)
    const html = readFileSync(report, 'utf8')
    for (const cluster of [HUB, EDGE]) expect(html).toContain(`data-cluster="${cluster}"`)

    const human = await fedobs(['verify', '-f', 'examples/fedobs.yaml', '--html', path.join(root, 'verify.html')])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stderr).toMatch(new RegExp(`HTML report: ${path.join(root, 'verify.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+\\.\\d kB\\)`))
    expect(human.stdout).toContain('Status check results are ✔')
  }, 120_000)

  it('opens offline in chromium: no request leaves the page, no console or page error, every chart drawn with its data; the screenshot is not blank', async () => {
    const page = await browser!.newPage()
    await page.setViewport({width: 1280, height: 900, deviceScaleFactor: 1})
    const url = pathToFileURL(report).href
    const requests: string[] = []
    const errors: string[] = []
    await page.setRequestInterception(true)
    page.on('request', (request) => {
      if (request.url() === url) return void request.continue()
      requests.push(request.url())
      void request.abort()
    })
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warn') errors.push(`console ${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => errors.push(`page error: ${error instanceof Error ? error.message : String(error)}`))
    await page.goto(url, {waitUntil: 'load'})
    await page.waitForSelector('body[data-charts="drawn"]', {timeout: 20_000})

    const charts = (await page.evaluate(`(${CHART_PIXELS})(${JSON.stringify(CHART_COLORS)})`)) as ChartPixels[]
    const canvases = await page.$$eval('canvas', (list) => list.length)

    expect(requests, 'requests the page tried to make').toEqual([])
    expect(errors).toEqual([])
    expect(canvases).toBe(2 * CHART_KINDS.length)
    expect(charts).toHaveLength(2 * CHART_KINDS.length)
    for (const chart of charts) {
      expect(chart.canvas, chart.id).toBe(true)
      // Axes and grid at least, on every canvas.
      expect(chart.painted, `${chart.id}: painted pixels`).toBeGreaterThan(500)
      // Where Prometheus had data, its line (or points) in the series colour.
      if (chart.points > 0) expect(chart.line, `${chart.id}: pixels of its series (${chart.points} points)`).toBeGreaterThan(10)
      else expect(chart.line, `${chart.id}: no data, no line`).toBe(0)
    }
    const withData = new Set(charts.filter((c) => c.points > 0).map((c) => c.id))
    // Real data: every cluster has data age, samples/s, queue fill (its agents' and scrapers' own) and targets up.
    for (const ci of [0, 1]) for (const kind of ['age', 'samples', 'queue', 'up']) expect(withData, `chart-${ci}-${kind}`).toContain(`chart-${ci}-${kind}`)

    mkdirSync(path.join(REPO, 'test-results'), {recursive: true})
    const screenshot = path.join(REPO, 'test-results', 'report.png')
    await page.screenshot({path: screenshot, fullPage: true})
    await page.close()
    const picture = await pictureOf(browser!, readFileSync(screenshot))
    expect(picture.height, 'a full-page screenshot').toBeGreaterThan(900)
    expect(picture.colours, 'distinct colours in the screenshot').toBeGreaterThan(40)
    expect(picture.inked, 'share of non-white pixels').toBeGreaterThan(0.03)
    // The charts' lines made it into the picture.
    expect(picture.seriesPixels, 'pixels of the samples/s line').toBeGreaterThan(20)
  }, 120_000)

  it('without JavaScript the check table is all there and the page says the charts need it', async () => {
    const page = await browser!.newPage()
    await page.setJavaScriptEnabled(false)
    await page.goto(pathToFileURL(report).href, {waitUntil: 'load'})
    const rows = (await page.evaluate("Array.from(document.querySelectorAll('table.checks tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent))")) as string[][]
    const noscript = await page.$eval('noscript', (n) => n.textContent ?? '')
    const canvases = await page.$$eval('canvas', (list) => list.length)
    await page.close()
    expect(rows.length).toBeGreaterThan(10)
    for (const row of rows) expect(row).toHaveLength(4)
    expect(rows.find((row) => row[2] === 'every cluster reports')?.[0]).toContain('ok')
    expect(noscript).toContain('The charts need JavaScript')
    expect(canvases).toBe(0)
  }, 60_000)

  it('a cluster of the file that does not report: exit 1, and the page is written all the same, its charts empty', async () => {
    const example = readFileSync(path.join(REPO, 'examples/fedobs.yaml'), 'utf8')
    const edge = /^edges:\n([\s\S]*?)(?=^telemetry:)/m.exec(example)![1]!
    const file = path.join(root, 'with-ghost.yaml')
    writeFileSync(file, example.replace(/^telemetry:/m, `${edge.replace(`name: ${EDGE}`, `name: ${GHOST}`)}telemetry:`))
    const page = path.join(root, 'failed.html')
    const run = await fedobs(['report', page, '-f', file, '--skip-certificates', '--json'])
    expect(run.code, run.stderr).toBe(1)
    const doc = expectDocument('report', run.stdout)
    expect(doc).toMatchObject({file: page, ok: false})
    expect(doc.summary.fail).toBeGreaterThan(0)
    const html = readFileSync(page, 'utf8')
    expect(html).toContain('<span class="verdict failed">')
    expect(html).toMatch(new RegExp(`<tr class="fail"><td class="status">✖ fail</td><td>federation</td><td>every cluster reports</td><td>[^<]*${GHOST}`))
    expect(html).toMatch(new RegExp(`data-cluster="${GHOST}"`))
    expect(html.match(/id="chart-2-\w+" data-kind="\w+" data-points="0"/g)).toHaveLength(CHART_KINDS.length)
  }, 120_000)
})

/** What the page's canvases hold, per chart: painted pixels, and pixels of its series colours. */
interface ChartPixels {
  id: string
  kind: string
  points: number
  canvas: boolean
  painted: number
  line: number
}

// Browser-side code, as source text: the tests compile without the DOM library.
const CHART_PIXELS = `(colors) => {
  const rgb = (hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16))
  return Array.from(document.querySelectorAll('figure.chart')).map((figure) => {
    const info = {id: figure.id, kind: figure.dataset.kind, points: Number(figure.dataset.points)}
    const canvas = figure.querySelector('canvas')
    if (!canvas) return {...info, canvas: false, painted: 0, line: 0}
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
    const wanted = colors[figure.dataset.kind].map(rgb)
    let painted = 0
    let line = 0
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue
      painted++
      if (data[i + 3] > 200 && wanted.some(([r, g, b]) => Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60)) line++
    }
    return {...info, canvas: true, painted, line}
  })
}`

const PICTURE = `async (base64, series) => {
  const image = new Image()
  image.src = 'data:image/png;base64,' + base64
  await image.decode()
  const canvas = document.createElement('canvas')
  canvas.width = image.naturalWidth
  canvas.height = image.naturalHeight
  const context = canvas.getContext('2d')
  context.drawImage(image, 0, 0)
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data
  const [sr, sg, sb] = [1, 3, 5].map((i) => Number.parseInt(series.slice(i, i + 2), 16))
  const colours = new Set()
  let inked = 0
  let seriesPixels = 0
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i], g = data[i + 1], b = data[i + 2]
    colours.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3))
    if (r + g + b < 740) inked++
    if (Math.abs(r - sr) + Math.abs(g - sg) + Math.abs(b - sb) < 60) seriesPixels++
  }
  return {width: canvas.width, height: canvas.height, colours: colours.size, inked: inked / (data.length / 4), seriesPixels}
}`

/** Decode a PNG in a blank page of the browser and measure it: size, colour variety, ink, the samples/s line colour. */
async function pictureOf(browser: Browser, png: Buffer): Promise<{width: number; height: number; colours: number; inked: number; seriesPixels: number}> {
  const page: Page = await browser.newPage()
  try {
    return (await page.evaluate(`(${PICTURE})(${JSON.stringify(png.toString('base64'))}, ${JSON.stringify(CHART_COLORS.samples[0])})`)) as {
      width: number
      height: number
      colours: number
      inked: number
      seriesPixels: number
    }
  } finally {
    await page.close()
  }
}
