import {formatEndpoint} from '../federation/endpoint.js'
import type {Output} from '../lib/output.js'
import {formatDuration} from '../lib/time.js'
import type {StatusReport} from '../services/status.js'
import {table} from './cloud.js'

/** `fedobs status` for people: one row per cluster, then its pools and drift, then the gateway. */
export function formatStatus(report: StatusReport, output: Output): string {
  const rows = [['CLUSTER', 'ROLE', 'STATUS', 'ID', 'VERSION', 'NODES', 'CONTEXT', 'DRIFT', 'NEWEST DATA']]
  for (const c of report.clusters) {
    const data = c.newestData ? `${formatDuration(c.newestData.ageSeconds * 1000)} ago` : c.exists && report.data.queried ? 'none in 1h' : '-'
    rows.push([
      c.name,
      c.taggedRole ? `${c.role} (tagged ${c.taggedRole})` : c.role,
      c.status,
      c.id === undefined ? '-' : String(c.id),
      c.k8sVersion ?? '-',
      c.exists ? `${c.nodesReady}/${c.nodesTotal}` : '-',
      c.context ?? '-',
      c.exists ? (c.drift.length === 0 ? 'none' : output.paint('yellow', `${c.drift.length}`)) : '-',
      data,
    ])
  }
  const lines = [table(rows)]
  const details: string[] = []
  for (const c of report.clusters.filter((x) => x.exists)) {
    details.push(`${c.name}:`)
    for (const p of c.pools) details.push(`  pool ${p.type}: ${p.ready}/${p.count} ready${p.autoscaler ? ` (autoscaler ${p.autoscaler.min}-${p.autoscaler.max})` : ''}`)
    for (const d of c.drift) details.push(`  ${output.paint('yellow', 'drift')} ${d.field}: ${d.message}`)
  }
  if (details.length > 0) lines.push('', ...details)
  lines.push('')
  if (report.gateway.addresses.length > 0) {
    lines.push(`Gateway: ${report.gateway.addresses.map((a) => formatEndpoint({host: a, port: 4317})).join(', ')} (OTLP/gRPC)`)
  } else {
    lines.push(`Gateway: no address${report.gateway.error ? ` (${report.gateway.error})` : ' yet (run `fedobs up` or `fedobs deploy hub`)'}`)
  }
  if (report.data.error) lines.push(`Data at the hub: not known (${report.data.error})`)
  else if (report.data.source) lines.push(`Data at the hub: from ${report.data.source}`)
  const {clusters, existing, ready, drifted} = report.summary
  lines.push(`${existing}/${clusters} cluster(s) exist, ${ready} with every node ready, ${drifted} drifted from the file`)
  return lines.join('\n')
}
