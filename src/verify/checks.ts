import {allClusters, type ClusterSpec, type Federation} from '../federation/model.js'
import {formatQueryDuration} from '../lib/time.js'
import {scrapeJobs} from '../render/render.js'
import {promQuery, quoteLabelValue, regexAlternatives, type Backend, type PrometheusSample} from './backends.js'
import {certificateChecks, type CertificateFacts} from './certificates.js'
import type {Check, CheckGroup} from './types.js'

export type {Check, CheckGroup, Status} from './types.js'

export interface VerifyReport {
  ok: boolean
  federation: string
  checkedAt: string
  /** HTTP requests sent to the backends: the same for 1 or 100 clusters (the tests count them at the wire). */
  queries: number
  summary: {ok: number; warn: number; fail: number}
  groups: CheckGroup[]
}

export interface VerifyBackends {
  prometheus: Backend
  loki?: Backend
  tempo?: Backend
}

export interface VerifyOptions {
  /** The PKI facts read from the clusters (see certificates.ts); no group when absent. */
  certificates?: CertificateFacts
  /** Only these clusters (default: every cluster of the federation). */
  clusters?: string[]
  /** A job counts as fresh when its newest sample is at most this old (ms). */
  freshnessMs: number
  /** Queue fill above this fraction is a warning, above 0.95 a failure. */
  queueWarn: number
  /** Look-back for logs and traces (ms). */
  signalWindowMs: number
  signal?: AbortSignal
}

/** Every scrape job a cluster must report, plus kubelet stats (job="kubeletstats" from the agent). */
export function expectedJobs(federation: Federation, cluster: ClusterSpec): string[] {
  return [...scrapeJobs(federation, cluster), 'kubeletstats']
}

function group(samples: PrometheusSample[], key: string): Map<string, PrometheusSample[]> {
  const map = new Map<string, PrometheusSample[]>()
  for (const s of samples) {
    const k = s.metric[key] ?? ''
    map.set(k, [...(map.get(k) ?? []), s])
  }
  return map
}

const ok = (id: string, name: string, message: string, cluster?: string): Check => ({id, name, status: 'ok', message, ...(cluster ? {cluster} : {})})
const fail = (id: string, name: string, message: string, hint: string, cluster?: string): Check => ({id, name, status: 'fail', message, hint, ...(cluster ? {cluster} : {})})
const warn = (id: string, name: string, message: string, hint: string, cluster?: string): Check => ({id, name, status: 'warn', message, hint, ...(cluster ? {cluster} : {})})

/** A list for a message: the first few names, then how many more. */
function few(names: string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}

function age(seconds: number, now: number): string {
  const s = Math.max(0, Math.round(now - seconds))
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`
}

/**
 * Run every check with a fixed set of queries (grouped by cluster_id, so 1 or 100 clusters cost the
 * same) and return the report. Cluster names only ever enter a query escaped.
 */
export async function verify(federation: Federation, backends: VerifyBackends, options: VerifyOptions): Promise<VerifyReport> {
  const selected = allClusters(federation).filter((c) => !options.clusters || options.clusters.includes(c.name))
  const names = selected.map((c) => c.name)
  const scope = options.clusters ? `cluster_id=~${regexAlternatives(names)}` : 'cluster_id!=""'
  let queries = 0
  const q = async (query: string): Promise<PrometheusSample[]> => {
    queries++
    return promQuery(backends.prometheus, query, undefined, options.signal)
  }
  const now = Date.now() / 1000

  const [jobs, down, seriesByOrigin, collectors, queueFill, failures] = await Promise.all([
    // Newest sample per cluster and job: scrape targets that are up, and the agent's kubelet stats.
    q(`max by (cluster_id, cluster_role, job) (timestamp(up{${scope}} == 1)) or max by (cluster_id, cluster_role, job) (timestamp(k8s_node_memory_working_set_bytes{job="kubeletstats", ${scope}}))`),
    q(`count by (cluster_id, job) (up{${scope}} == 0)`),
    // Series that did not come through the gateway or lack a cluster identity (cheap: the index finds
    // the few series without the label), and — marked via_gateway="yes" — the scrape targets that
    // did come through it, so that "all data via the gateway" is never said of an empty Prometheus.
    q(
      `count by (cluster_id) ({__name__=~".+", hub_received_at=""}) or count by (cluster_id) ({__name__=~".+", cluster_id=""}) or label_replace(count by (cluster_id) (up{hub_received_at!="", cluster_id!=""}), "via_gateway", "yes", "", "")`,
    ),
    // One kube-state-metrics per Kubernetes cluster: two instances under one cluster_id means two clusters share it.
    q(`count by (cluster_id) (count by (cluster_id, instance) (up{job="kube-state-metrics", ${scope}}))`),
    q(`max by (exporter) (otelcol_exporter_queue_size{job="otel-gateway"} / otelcol_exporter_queue_capacity{job="otel-gateway"})`),
    // What each gateway exporter sent and failed to send in 5m. The collector creates a failure
    // counter only at the first failure, so "no failures" is known only for an exporter that sent.
    q(
      `sum by (exporter, outcome) (${['metric_points', 'log_records', 'spans']
        .flatMap((signal) => [
          `label_replace(increase(otelcol_exporter_sent_${signal}_total{job="otel-gateway"}[5m]), "outcome", "sent", "", "")`,
          `label_replace(increase(otelcol_exporter_send_failed_${signal}_total{job="otel-gateway"}[5m]), "outcome", "failed", "", "")`,
        ])
        .join(' or ')})`,
    ),
  ])

  const groups: CheckGroup[] = []

  // ---- federation: who reports, and who should not
  const reporting = group(jobs, 'cluster_id')
  const federationChecks: Check[] = []
  const silent = names.filter((n) => !reporting.has(n))
  federationChecks.push(
    silent.length === 0
      ? ok('clusters-report', 'every cluster reports', `${names.length}/${names.length}: ${names.join(', ')}`)
      : fail(
          'clusters-report',
          'every cluster reports',
          `${silent.length} of ${names.length} silent: ${silent.join(', ')}`,
          `Check \`fedobs connect <edge> hub\` and the agents: kubectl -n observability logs daemonset/otel-agent --tail=20`,
        ),
  )
  if (!options.clusters) {
    // Every cluster_id any series carries, not only those of the expected jobs.
    const seen = new Set([...reporting.keys(), ...seriesByOrigin.map((s) => s.metric.cluster_id ?? '')].filter((id) => id !== ''))
    const known = new Set(allClusters(federation).map((c) => c.name))
    const unknown = [...seen].filter((id) => !known.has(id))
    federationChecks.push(
      unknown.length > 0
        ? fail(
            'no-unknown-ids',
            'no unknown cluster ids',
            `not in the federation: ${unknown.map((u) => JSON.stringify(u)).join(', ')}`,
            'A cluster ships here under a name the federation file does not have: add it, or stop its agents.',
          )
        : seen.size === 0
          ? warn('no-unknown-ids', 'no unknown cluster ids', 'not checked: no series carries a cluster_id', 'Nothing reached Prometheus through the gateway yet; see the gateway checks below.')
          : ok('no-unknown-ids', 'no unknown cluster ids', `every cluster_id belongs to the federation (${seen.size} seen)`),
    )
  }
  // A warning, not a failure, where there is no kube-state-metrics data: the missing job already
  // fails under "jobs", and this check cannot tell either way without it.
  const collectorsOf = new Map(collectors.map((s) => [s.metric.cluster_id ?? '', Number(s.value[1])]))
  const shared = [...collectorsOf].filter(([, count]) => count > 1).map(([id]) => id)
  const undecided = names.filter((n) => !collectorsOf.has(n))
  federationChecks.push(
    shared.length > 0
      ? fail(
          'no-duplicate-ids',
          'no duplicate cluster ids',
          `several clusters report as ${shared.map((s) => JSON.stringify(s)).join(', ')}`,
          'Two Kubernetes clusters use one cluster.id: give one of them another name and reconnect it.',
        )
      : undecided.length === names.length
        ? warn(
            'no-duplicate-ids',
            'no duplicate cluster ids',
            'not checked: no kube-state-metrics data from any cluster',
            "Each cluster's kube-state-metrics tells one Kubernetes cluster from another; see its job check below.",
          )
        : undecided.length > 0
          ? warn(
              'no-duplicate-ids',
              'no duplicate cluster ids',
              `one kube-state-metrics per cluster_id for ${names.length - undecided.length} of ${names.length}; not checked (no kube-state-metrics data): ${few(undecided)}`,
              'See the kube-state-metrics job checks of those clusters below.',
            )
          : ok('no-duplicate-ids', 'no duplicate cluster ids', `one kube-state-metrics per cluster_id (${names.length} of ${names.length})`),
  )
  groups.push({name: 'federation', checks: federationChecks})

  // ---- identity: the role each cluster reports matches the file
  const identity: Check[] = []
  for (const cluster of selected) {
    const roles = [...new Set((reporting.get(cluster.name) ?? []).map((s) => s.metric.cluster_role ?? ''))]
    if (roles.length === 0) {
      // A warning: the cluster's silence already fails "every cluster reports".
      identity.push(warn('role', `${cluster.name} reports as ${cluster.role}`, 'not checked: no data from it', 'It reports nothing yet; see "every cluster reports".', cluster.name))
      continue
    }
    identity.push(
      roles.length === 1 && roles[0] === cluster.role
        ? ok('role', `${cluster.name} reports as ${cluster.role}`, `cluster_role="${cluster.role}"`, cluster.name)
        : fail(
            'role',
            `${cluster.name} reports as ${cluster.role}`,
            `reports cluster_role ${roles.map((r) => JSON.stringify(r)).join(', ')}`,
            `Re-deploy it: fedobs deploy ${cluster.role === 'hub' ? 'hub' : `edge ${cluster.name}`}`,
            cluster.name,
          ),
    )
  }
  groups.push({name: 'identity', checks: identity})

  // ---- jobs: each expected job present and fresh
  const jobChecks: Check[] = []
  const downByCluster = group(down, 'cluster_id')
  for (const cluster of selected) {
    const samples = reporting.get(cluster.name) ?? []
    const newest = new Map(samples.map((s) => [s.metric.job ?? '', Number(s.value[1])]))
    for (const job of expectedJobs(federation, cluster)) {
      const seen = newest.get(job)
      const targetsDown = Number((downByCluster.get(cluster.name) ?? []).find((s) => s.metric.job === job)?.value[1] ?? 0)
      const id = `job:${job}`
      const name = `${cluster.name}: ${job}`
      const query = `up{cluster_id=${quoteLabelValue(cluster.name)}, job=${quoteLabelValue(job)}}`
      if (seen === undefined) {
        jobChecks.push(
          fail(
            id,
            name,
            targetsDown > 0 ? `${targetsDown} target(s) down` : 'no data',
            `Query ${query} on the hub; check the ${job === 'kubeletstats' ? 'otel-agent' : 'otel-scraper'} logs on ${cluster.name}.`,
            cluster.name,
          ),
        )
      } else if ((now - seen) * 1000 > options.freshnessMs) {
        jobChecks.push(fail(id, name, `stale: newest sample ${age(seen, now)}`, `Query ${query}; the data stopped arriving (agent, gateway or Prometheus).`, cluster.name))
      } else if (targetsDown > 0) {
        jobChecks.push(warn(id, name, `fresh (${age(seen, now)}), but ${targetsDown} target(s) down`, `Query ${query} == 0 for the failing targets.`, cluster.name))
      } else {
        jobChecks.push(ok(id, name, `fresh (${age(seen, now)})`, cluster.name))
      }
    }
  }
  groups.push({name: 'jobs', checks: jobChecks})

  // ---- gateway: everything came through it; queues and send failures
  const gateway: Check[] = []
  const viaGateway = (s: PrometheusSample): boolean => s.metric.via_gateway === 'yes' && Boolean(s.metric.cluster_id)
  const bypass = seriesByOrigin.filter((s) => !viaGateway(s) && Number(s.value[1]) > 0)
  const through = seriesByOrigin.filter(viaGateway).reduce((n, s) => n + Number(s.value[1]), 0)
  // A failure without data: on the hub everything reaches Prometheus through the gateway (Prometheus
  // scrapes nothing itself), so no scrape target through it means the gateway delivers nothing.
  gateway.push(
    bypass.length > 0
      ? fail(
          'via-gateway',
          'all data via the gateway',
          `${bypass.reduce((n, s) => n + Number(s.value[1]), 0)} series without hub_received_at or cluster_id (${[...new Set(bypass.map((s) => s.metric.cluster_id || '(no cluster_id)'))].join(', ')})`,
          'Something writes to Prometheus around the gateway, or an agent lacks its cluster identity.',
        )
      : through === 0
        ? fail(
            'via-gateway',
            'all data via the gateway',
            'no scrape target reports through it (no up series with cluster_id and hub_received_at)',
            'Nothing arrives from the gateway: kubectl -n observability-hub logs statefulset/otel-gateway --tail=20 (its otlp_http/prometheus exporter), and the Prometheus logs.',
          )
        : ok('via-gateway', 'all data via the gateway', `every series carries cluster_id and hub_received_at (${through} scrape target${through === 1 ? '' : 's'} through it)`),
  )
  if (queueFill.length === 0) {
    gateway.push(
      fail('queue-fill', 'gateway queues', 'no gateway metrics', 'The hub scraper collects the gateway\'s own metrics (job="otel-gateway"): check otel-scraper and otel-gateway on the hub.'),
    )
  } else {
    const worst = queueFill.reduce((a, b) => (Number(a.value[1]) >= Number(b.value[1]) ? a : b))
    const fill = Number(worst.value[1])
    const text = `fullest queue ${(fill * 100).toFixed(1)}% (${worst.metric.exporter ?? '?'})`
    gateway.push(
      fill >= 0.95
        ? fail('queue-fill', 'gateway queues', text, 'A backend is down or too slow; data is about to be refused. Check Prometheus, Loki and Tempo.')
        : fill >= options.queueWarn
          ? warn('queue-fill', 'gateway queues', text, 'A backend is slow or down; the persistent queue holds the data meanwhile.')
          : ok('queue-fill', 'gateway queues', text),
    )
  }
  // "None" only for exporters that sent something in the window: an exporter with nothing sent (no
  // traces yet, or not scraped) has not shown that its sends succeed. Warnings, not failures: without
  // any gateway metrics "gateway queues" already fails, and an exporter with nothing to send is not
  // broken.
  const outcome = (kind: string) => failures.filter((s) => s.metric.outcome === kind && Number(s.value[1]) > 0)
  const failed = outcome('failed')
  const decided = new Set([...outcome('sent'), ...failed].map((s) => s.metric.exporter ?? ''))
  const exporters = [...new Set([...queueFill, ...failures].map((s) => s.metric.exporter ?? ''))].sort()
  const undecidedExporters = exporters.filter((e) => !decided.has(e))
  const succeeded = exporters.filter((e) => decided.has(e) && !failed.some((s) => s.metric.exporter === e))
  gateway.push(
    failed.length > 0
      ? warn(
          'send-failures',
          'gateway send failures',
          failed.map((s) => `${s.metric.exporter}: ${Math.round(Number(s.value[1]))}`).join(', '),
          'Retries keep the data (persistent queues); check the backend named.',
        )
      : exporters.length === 0
        ? warn(
            'send-failures',
            'gateway send failures',
            'not checked: no gateway exporter metrics',
            'The hub scraper collects the gateway\'s own metrics (job="otel-gateway"): check otel-scraper and otel-gateway on the hub.',
          )
        : undecidedExporters.length > 0
          ? warn(
              'send-failures',
              'gateway send failures',
              `not checked for ${undecidedExporters.join(', ')}: nothing sent in the last 5m${succeeded.length > 0 ? `; none for ${succeeded.join(', ')}` : ''}`,
              'An exporter that sends nothing (e.g. no traces yet) cannot show that its sends succeed; check that its signal reaches the gateway.',
            )
          : ok('send-failures', 'gateway send failures', `none in the last 5m (${succeeded.join(', ')})`),
  )
  groups.push({name: 'gateway', checks: gateway})

  // ---- logs and traces per cluster
  const windowText = formatQueryDuration(options.signalWindowMs)
  if (backends.loki) {
    const logs: Check[] = []
    try {
      queries++
      const params = new URLSearchParams({query: `sum by (cluster_id) (count_over_time({${scope}}[${windowText}]))`})
      const answer = (await backends.loki.get(`loki/api/v1/query?${params}`, options.signal)) as {data?: {result?: PrometheusSample[]}}
      const perCluster = new Map((answer.data?.result ?? []).map((s) => [s.metric.cluster_id ?? '', Number(s.value[1])]))
      for (const cluster of selected) {
        const count = perCluster.get(cluster.name) ?? 0
        logs.push(
          count > 0
            ? ok('logs', `${cluster.name}: logs`, `${count} lines in ${windowText}`, cluster.name)
            : fail('logs', `${cluster.name}: logs`, `none in ${windowText}`, `Query {cluster_id=${quoteLabelValue(cluster.name)}} in Loki; check the otel-agent file_log receiver.`, cluster.name),
        )
      }
    } catch (error) {
      logs.push(fail('logs', 'Loki reachable', (error as Error).message, 'Check the loki StatefulSet in monitoring, or pass --loki-url.'))
    }
    groups.push({name: 'logs', checks: logs})
  }
  if (backends.tempo) {
    const traces: Check[] = []
    try {
      queries++
      const end = Math.floor(Date.now() / 1000)
      const params = new URLSearchParams({start: String(end - Math.max(1, Math.round(options.signalWindowMs / 1000))), end: String(end)})
      const answer = (await backends.tempo.get(`api/v2/search/tag/resource.cluster.id/values?${params}`, options.signal)) as {tagValues?: Array<{value: string} | string>}
      const ids = new Set((answer.tagValues ?? []).map((v) => (typeof v === 'string' ? v : v.value)))
      for (const cluster of selected) {
        traces.push(
          ids.has(cluster.name)
            ? ok('traces', `${cluster.name}: traces`, `traces in ${windowText}`, cluster.name)
            : warn(
                'traces',
                `${cluster.name}: traces`,
                `none in ${windowText}`,
                `Only instrumented workloads send traces (the BERT demo does); search {resource.cluster.id=${quoteLabelValue(cluster.name)}} in Tempo.`,
                cluster.name,
              ),
        )
      }
    } catch (error) {
      traces.push(fail('traces', 'Tempo reachable', (error as Error).message, 'Check the tempo StatefulSet in monitoring, or pass --tempo-url.'))
    }
    groups.push({name: 'traces', checks: traces})
  }

  if (options.certificates) groups.push(certificateChecks(federation, options.certificates, names))

  const all = groups.flatMap((g) => g.checks)
  const summary = {ok: all.filter((c) => c.status === 'ok').length, warn: all.filter((c) => c.status === 'warn').length, fail: all.filter((c) => c.status === 'fail').length}
  return {ok: summary.fail === 0, federation: federation.name, checkedAt: new Date().toISOString(), queries, summary, groups}
}
