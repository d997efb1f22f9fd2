/**
 * The health report as one self-contained HTML page: the verify checks as a static table (readable
 * without JavaScript) and, per cluster, small uPlot charts of the last hour at the hub. Pure: the
 * charting library's script and stylesheet come in as strings; nothing on the page refers to the
 * network, and a Content-Security-Policy forbids loading anything at all.
 */
import {createHash} from 'node:crypto'
import type {VerifyReport} from './checks.js'
import type {ChartKind, ChartSeries, History} from './history.js'

export interface ChartAssets {
  /** uPlot's IIFE build (defines the global uPlot). */
  script: string
  css: string
}

export interface HtmlReportInput {
  report: VerifyReport
  history: History
  /** Where the data came from, for the page (never credentials). */
  source?: string
}

const ICON = {ok: '✔', warn: '‼', fail: '✖'} as const

/** Text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** JSON inside <script type="application/json">: no "<" at all, so no "</script>" or "<!--" can end or bend it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Script text as an inline <script> may carry: a "</script" inside would end the element early. */
function inlineScript(code: string): string {
  if (/<\/script/i.test(code)) throw new Error('an inline script contains "</script"')
  return code
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

/** The newest value of a chart, for the text beside it (what a reader without JavaScript sees). */
function latest(series: ChartSeries[], kind: ChartKind, unit: string): string {
  const parts: string[] = []
  for (const s of series) {
    const value = [...s.values].reverse().find((v) => v !== null)
    if (value === undefined || value === null) continue
    const shown = kind === 'age' || kind === 'up' ? String(Math.round(value)) : String(value)
    parts.push(`${series.length > 1 ? `${s.label} ` : ''}${shown}${unit === '%' ? '%' : unit ? ` ${unit}` : ''}`)
  }
  return parts.length > 0 ? `now: ${parts.join(', ')}` : 'no data in the last hour'
}

/** The browser side: draw every chart from the embedded JSON. Plain ES2017, no imports. */
const CHART_SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('fedobs-data').textContent);
  var xs = [];
  for (var i = 0; i < data.points; i++) xs.push(data.start + i * data.step);
  var colors = data.colors;
  function axisValues(unit) {
    return function (u, splits) {
      return splits.map(function (v) { return v == null ? '' : (Math.abs(v) >= 1000 ? (v / 1000).toFixed(1) + 'k' : String(+v.toFixed(2))) + unit; });
    };
  }
  function yRange(kind) {
    return function (u, min, max) {
      if (min == null || max == null) return kind === 'queue' ? [0, 100] : [0, 1];
      var top = kind === 'queue' ? Math.max(100, max) : Math.max(max * 1.1, min + 1, 1);
      var bottom = Math.min(0, min);
      return [bottom - (top - bottom) * 0.03, top];
    };
  }
  data.clusters.forEach(function (cluster, ci) {
    data.kinds.forEach(function (kind) {
      var figure = document.getElementById('chart-' + ci + '-' + kind.id);
      var target = figure.querySelector('.plot');
      var series = cluster.charts[kind.id] || [];
      var width = Math.max(240, Math.floor(target.getBoundingClientRect().width) || 280);
      var opts = {
        width: width,
        height: 150,
        legend: {show: series.length > 1, live: false},
        cursor: {drag: {x: false, y: false}},
        scales: {x: {time: true}, y: {range: yRange(kind.id)}},
        axes: [{size: 30, font: '10px system-ui, sans-serif'}, {size: 48, font: '10px system-ui, sans-serif', values: axisValues(kind.unit === '%' ? '%' : '')}],
        series: [{}].concat(series.map(function (s, si) {
          // A value with no neighbour draws no line, and a few values draw a line too short to see
          // on an hour: show the points of such a series.
          var count = s.values.filter(function (v) { return v != null; }).length;
          var isolated = s.values.some(function (v, vi) { return v != null && s.values[vi - 1] == null && s.values[vi + 1] == null; });
          return {label: s.label, stroke: colors[kind.id][si % colors[kind.id].length], width: 2, points: {show: isolated || count < 12, size: 6}, spanGaps: false};
        }))
      };
      new uPlot(opts, [xs].concat(series.map(function (s) { return s.values; })), target);
      figure.setAttribute('data-drawn', 'true');
    });
  });
  document.body.setAttribute('data-charts', 'drawn');
})();`

/** Line colours per chart kind (the browser test finds these pixels on the canvases). */
export const CHART_COLORS: Record<ChartKind, string[]> = {
  age: ['#d9480f'],
  samples: ['#1971c2'],
  queue: ['#9c36b5'],
  // Series sorted by label: targets (grey, behind), then up (green, on top).
  up: ['#868e96', '#2f9e44'],
}

const PAGE_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }
header, main { max-width: 1320px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #59636e; margin: 0; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; margin-right: 8px; }
.verdict.pass { background: #dafbe1; color: #116329; }
.verdict.failed { background: #ffebe9; color: #a40e26; }
.counts span { margin-right: 14px; }
table.checks { border-collapse: collapse; width: 100%; }
table.checks th, table.checks td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #d1d9e0; vertical-align: top; }
table.checks th { background: #f6f8fa; }
td.status { white-space: nowrap; font-weight: 600; }
tr.ok td.status { color: #116329; }
tr.warn td.status { color: #9a6700; }
tr.fail td.status { color: #a40e26; }
tr.fail { background: #fff5f5; }
.hint { color: #59636e; font-size: 12px; margin-top: 2px; }
.role { font-weight: normal; color: #59636e; font-size: 12px; border: 1px solid #d1d9e0; border-radius: 10px; padding: 0 7px; margin-left: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px; }
figure.chart { margin: 0; border: 1px solid #d1d9e0; border-radius: 6px; padding: 6px 8px; min-width: 0; }
figure.chart figcaption { font-weight: 600; font-size: 13px; }
figure.chart .now { font-weight: normal; color: #59636e; font-size: 12px; margin-left: 6px; }
.plot { min-height: 150px; }
.about { color: #59636e; font-size: 12px; }
.error { color: #a40e26; }
footer { color: #59636e; font-size: 12px; max-width: 1320px; margin: 24px auto; padding: 0 20px; }
`

export function renderHtmlReport(input: HtmlReportInput, assets: ChartAssets): string {
  const {report, history} = input
  const e = escapeHtml
  const {ok, warn, fail} = report.summary

  const rows = report.groups.flatMap((group) =>
    group.checks.map(
      (check) =>
        `<tr class="${check.status}"><td class="status">${ICON[check.status]} ${check.status}</td><td>${e(group.name)}</td><td>${e(check.name)}</td><td>${e(check.message)}${
          check.hint && check.status !== 'ok' ? `<div class="hint">hint: ${e(check.hint)}</div>` : ''
        }</td></tr>`,
    ),
  )

  const kindInfo = new Map(history.kinds.map((k) => [k.id, k]))
  const clusters = history.clusters.map((cluster, ci) => {
    const figures = history.kinds.map((kind) => {
      const series = cluster.charts[kind.id]
      const failed = history.errors[kind.id]
      const caption = `${e(kind.title)}${kind.unit ? ` (${e(kind.unit)})` : ''}`
      const now = failed ? 'query failed' : latest(series, kind.id, kindInfo.get(kind.id)?.unit ?? '')
      return `<figure class="chart" id="chart-${ci}-${kind.id}" data-kind="${kind.id}" data-points="${series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0)}"><figcaption>${caption}<span class="now">${e(now)}</span></figcaption><div class="plot"></div></figure>`
    })
    return `<section class="cluster" data-cluster="${e(cluster.name)}"><h3>${e(cluster.name)}<span class="role">${e(cluster.role)}</span></h3><div class="grid">${figures.join('')}</div></section>`
  })

  const errors = Object.entries(history.errors).map(([kind, message]) => `<li class="error">${e(kindInfo.get(kind as ChartKind)?.title ?? kind)}: ${e(message)}</li>`)
  const about = history.kinds.map((k) => `<li><b>${e(k.title)}</b>: ${e(k.about)} <code>${e(k.query)}</code></li>`)

  const data = {
    start: history.start,
    step: history.step,
    points: history.points,
    colors: CHART_COLORS,
    kinds: history.kinds.map((k) => ({id: k.id, title: k.title, unit: k.unit})),
    clusters: history.clusters.map((c) => ({name: c.name, charts: c.charts})),
  }
  const uplot = inlineScript(assets.script)
  const charts = inlineScript(CHART_SCRIPT)
  // Only these two scripts run; nothing may be fetched (default-src 'none'); uPlot sets style attributes.
  const csp = `default-src 'none'; script-src ${sha256(uplot)} ${sha256(charts)}; style-src 'unsafe-inline'; img-src data:`
  const title = `fedobs health report: ${report.federation}`
  const windowText = `${new Date(history.start * 1000).toISOString()} to ${new Date((history.start + (history.points - 1) * history.step) * 1000).toISOString()}, every ${history.step}s`

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fedobs">
<title>${e(title)}</title>
<style>${assets.css.replace(/<\//g, '<\\/')}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>${e(title)}</h1>
<p class="meta"><span class="verdict ${report.ok ? 'pass' : 'failed'}">${report.ok ? `${ICON.ok} pass` : `${ICON.fail} failed`}</span><span class="counts"><span>${ok} ok</span><span>${warn} warning${warn === 1 ? '' : 's'}</span><span>${fail} failed</span></span></p>
<p class="meta">Generated <time datetime="${e(report.checkedAt)}">${e(report.checkedAt)}</time> for federation <b>${e(report.federation)}</b>${input.source ? ` from ${e(input.source)}` : ''}; ${report.queries + history.queries} queries.</p>
</header>
<main>
<h2>Checks</h2>
<table class="checks">
<thead><tr><th>Status</th><th>Group</th><th>Check</th><th>Detail</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<h2>Last hour at the hub</h2>
<p class="meta">${e(windowText)}.</p>
<noscript><p class="error">The charts need JavaScript; the table above is the whole verdict without it.</p></noscript>
${errors.length > 0 ? `<ul>${errors.join('')}</ul>` : ''}
${clusters.join('\n')}
<h2>How the charts are computed</h2>
<ul class="about">${about.join('')}</ul>
</main>
<footer>Written by fedobs. Charts drawn with uPlot (MIT licence), included in this page.</footer>
<script type="application/json" id="fedobs-data">${scriptJson(data)}</script>
<script>${uplot}</script>
<script>${charts}</script>
</body>
</html>
`
}
