/**
 * Send the requests of `dashboardQueries` to real backends and say whether each returned data.
 * Used by the "with real data" test and `npm run bench:dashboards`; the backends' base URLs are
 * passed in per datasource uid (nothing is read from the environment here).
 */
import type {PanelQuery} from './queries.js'

export interface ProbeResult {
  query: PanelQuery
  /** Series (Prometheus matrix/vector, Loki streams/matrix) or traces (Tempo) returned. */
  series: number
  /** Samples, log lines or spans returned in total. */
  points: number
  /** Set when the backend refused the query or could not be reached. */
  error?: string
  ms: number
}

/** The query sent, as one line a person can paste: the URL with its parameters. */
export function describeRequest(query: PanelQuery, baseUrl = ''): string {
  return `${baseUrl}${query.request.path}?${new URLSearchParams(query.request.params).toString()}`
}

export async function probe(query: PanelQuery, baseUrls: Record<string, string>, timeoutMs = 30_000): Promise<ProbeResult> {
  const base = baseUrls[query.request.datasourceUid]
  const started = performance.now()
  const done = (fields: Omit<ProbeResult, 'query' | 'ms'>): ProbeResult => ({query, ms: performance.now() - started, ...fields})
  if (!base) return done({series: 0, points: 0, error: `no URL for datasource "${query.request.datasourceUid}"`})
  let response: Response
  try {
    // POST form, as Grafana sends Prometheus queries (long expressions do not hit URL limits).
    const usePost = query.request.backend === 'prometheus'
    const body = new URLSearchParams(query.request.params)
    response = usePost
      ? await fetch(`${base}${query.request.path}`, {method: 'POST', body, signal: AbortSignal.timeout(timeoutMs)})
      : await fetch(`${base}${query.request.path}?${body.toString()}`, {signal: AbortSignal.timeout(timeoutMs)})
  } catch (error) {
    return done({series: 0, points: 0, error: `request failed: ${(error as Error).message}`})
  }
  const text = await response.text()
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    return done({series: 0, points: 0, error: `HTTP ${response.status}: ${text.slice(0, 300)}`})
  }
  if (!response.ok || (json.status !== undefined && json.status !== 'success')) {
    return done({series: 0, points: 0, error: `HTTP ${response.status}: ${typeof json.error === 'string' ? json.error : typeof json.message === 'string' ? json.message : text.slice(0, 300)}`})
  }
  return done(count(query, json))
}

function count(query: PanelQuery, json: Record<string, unknown>): {series: number; points: number} {
  if (query.request.backend === 'tempo') {
    const traces = (json.traces as Array<{spanSets?: Array<{spans?: unknown[]}>; spanSet?: {spans?: unknown[]}}> | undefined) ?? []
    const spans = traces.reduce((n, t) => n + (t.spanSets ?? (t.spanSet ? [t.spanSet] : [])).reduce((m, s) => m + (s.spans?.length ?? 0), 0), 0)
    return {series: traces.length, points: spans}
  }
  const data = (json.data ?? {}) as {resultType?: string; result?: unknown[]}
  const result = data.result ?? []
  if (data.resultType === 'scalar' || data.resultType === 'string') return {series: 1, points: 1}
  let points = 0
  for (const item of result as Array<{values?: unknown[]; value?: unknown; histograms?: unknown[]; histogram?: unknown}>) {
    points += (item.values?.length ?? 0) + (item.histograms?.length ?? 0) + (item.value !== undefined ? 1 : 0) + (item.histogram !== undefined ? 1 : 0)
  }
  return {series: result.length, points}
}
