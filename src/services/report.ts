/**
 * `fedobs report` and `fedobs verify --html`: the verify report plus the last hour at the hub,
 * written as one self-contained HTML page.
 */
import {closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {allClusters, type Federation} from '../federation/model.js'
import {FedobsError, onFs, UsageError} from '../lib/errors.js'
import {parseDuration} from '../lib/time.js'
import type {Backend} from '../verify/backends.js'
import type {VerifyReport} from '../verify/checks.js'
import {clusterHistory, type History} from '../verify/history.js'
import {renderHtmlReport, type ChartAssets} from '../verify/html.js'

/**
 * uPlot's browser build and stylesheet, read from the installed package (wherever npm put it), to
 * be inlined into the page.
 */
export function chartAssets(): ChartAssets {
  const root = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'))
  return {
    script: readFileSync(path.join(root, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(path.join(root, 'dist', 'uPlot.min.css'), 'utf8'),
  }
}

/**
 * Fail now, before any query, when the report could not be written: a missing directory, a
 * directory, a read-only place. Opens the file for appending (which changes nothing in an existing
 * file) and removes it again when it did not exist.
 */
export function assertWritable(file: string, elsewhere: string): void {
  const existed = existsSync(file)
  try {
    onFs({operation: 'write', what: 'HTML report', path: file, elsewhere}, () => {
      closeSync(openSync(file, 'a'))
      if (!existed) unlinkSync(file)
    })
  } catch (error) {
    // The one case the general mapping cannot say better: the directory is not there.
    if (error instanceof FedobsError && error.code === 'fs-enoent') {
      throw new UsageError(error.message, {code: error.code, hint: `Create its directory first (\`mkdir -p ${path.dirname(path.resolve(file))}\`), or choose another place with ${elsewhere}.`})
    }
    throw error
  }
}

export interface WrittenReport {
  file: string
  bytes: number
  history: History
}

export interface HtmlReportOptions {
  /** Only these clusters (default: every cluster of the federation). */
  clusters?: string[]
  /** Where Prometheus is, for the page. */
  source?: string
  now: number
  signal?: AbortSignal
}

/** Query the last hour (four range queries), render the page and write it. */
export async function writeHtmlReport(file: string, federation: Federation, report: VerifyReport, prometheus: Backend, options: HtmlReportOptions, elsewhere: string): Promise<WrittenReport> {
  const clusters = allClusters(federation)
    .filter((c) => !options.clusters || options.clusters.includes(c.name))
    .map((c) => ({name: c.name, role: c.role}))
  const history = await clusterHistory(prometheus, clusters, {
    end: options.now / 1000,
    scrapeIntervalS: (parseDuration(federation.telemetry.scrapeInterval) ?? 30_000) / 1000,
    ...(options.signal ? {signal: options.signal} : {}),
  })
  const html = renderHtmlReport({report, history, ...(options.source ? {source: options.source} : {})}, chartAssets())
  onFs({operation: 'write', what: 'HTML report', path: file, elsewhere}, () => writeFileSync(file, html))
  return {file: path.resolve(file), bytes: Buffer.byteLength(html), history}
}
