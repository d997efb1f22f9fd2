import {formatEndpoint} from '../federation/endpoint.js'
import type {Federation} from '../federation/model.js'
import {contextAlias} from '../kube/kubeconfig.js'
import {FedobsError} from '../lib/errors.js'
import type {Output} from '../lib/output.js'
import {UP_STEPS, type UpCluster, type UpResult, type UpState} from '../services/up.js'
import {formatReport} from '../verify/report.js'
import {errorJson, table} from './cloud.js'

/** How to reach Grafana on the hub: a port-forward and where the admin password is (never the password). */
export interface HubAccess {
  context: string
  grafanaUrl: string
  portForward: string
  passwordCommand: string
}

export function hubAccess(federation: Federation, kubeconfig: string | undefined): HubAccess {
  const context = federation.hub.context ?? contextAlias(federation.hub.name)
  const kubectl = `kubectl${kubeconfig ? ` --kubeconfig ${kubeconfig}` : ''} --context ${context} -n monitoring`
  return {
    context,
    grafanaUrl: 'http://localhost:3000',
    portForward: `${kubectl} port-forward service/grafana 3000:3000`,
    passwordCommand: `${kubectl} get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d`,
  }
}

interface Summary {
  state: UpState
  interrupted: boolean
  resume: string
  access: HubAccess
  result?: UpResult
}

/** The one `fedobs up --json` document (schema/up.schema.json). */
export function upDocument(federation: Federation, summary: Summary): Record<string, unknown> {
  const {state, result} = summary
  const verifyOk = result?.verify ? result.verify.report.ok : undefined
  const ok = !summary.interrupted && Boolean(result) && result!.failures.length === 0 && verifyOk !== false
  return {
    ok,
    interrupted: summary.interrupted,
    federation: federation.name,
    ...(summary.interrupted && state.step ? {interruptedAt: state.step} : {}),
    steps: result?.steps ?? [],
    clusters: state.clusters,
    gateway: {...(state.gatewayAddress ? {address: state.gatewayAddress} : {}), ...(state.hubEndpoint ? {endpoint: state.hubEndpoint} : {})},
    grafana: {url: summary.access.grafanaUrl, portForward: summary.access.portForward, passwordCommand: summary.access.passwordCommand},
    ...(result?.verify ? {verify: {...result.verify.report, attempts: result.verify.attempts}} : {}),
    failures: (result?.failures ?? []).map((f) => ({step: f.step, ...(f.cluster ? {cluster: f.cluster} : {}), error: errorJson(f.error)})),
    warnings: result?.warnings ?? [],
    localStacksKept: result?.localStacksKept ?? [],
    ...(ok ? {} : {resume: summary.resume}),
  }
}

function clusterLine(c: UpCluster): string[] {
  const created = c.created ? `created${c.id !== undefined ? ` (id ${c.id}${c.reused ? ', existed' : ''})` : ''}` : 'not created'
  const deployed = c.created ? (c.deployed ? 'deployed' : 'not deployed') : ''
  const connected = c.role === 'edge' && c.deployed ? (c.connected ? 'connected' : 'not connected') : ''
  return [c.role, c.name, created, deployed, connected, c.error ? `failed in "${UP_STEPS[c.error.step]}"` : c.interrupted ? `interrupted in "${UP_STEPS[c.interrupted]}"` : '']
}

/** What exists now, one line per cluster. */
export function stateTable(state: UpState): string {
  return table([['ROLE', 'NAME', 'CLUSTER', 'DEPLOYED', 'CONNECTED', ''], ...state.clusters.map(clusterLine)])
}

export function printUpSummary(output: Output, federation: Federation, summary: Summary): void {
  const {state, result, access} = summary
  if (summary.interrupted) {
    output.warn(`interrupted${state.step ? ` during "${UP_STEPS[state.step]}"` : ''}. What exists:`)
    output.info(indent(stateTable(state)))
    output.info(`Nothing is undone. To continue where it stopped, run:\n  ${summary.resume}`)
    return
  }
  if (!result) return
  for (const warning of result.warnings) output.warn(warning)
  for (const kept of result.localStacksKept) {
    output.warn(`${kept.edge}: the seed's edge-local monitoring stack is still there (${kept.objects.length} objects); re-run with --yes to remove it`)
  }
  if (result.failures.length > 0) {
    for (const failure of result.failures) {
      const error = failure.error
      output.error(`${UP_STEPS[failure.step]}${failure.cluster ? ` (${failure.cluster})` : ''}: ${(error as Error).message ?? String(error)}`)
      if (error instanceof FedobsError && error.hint) output.info(`  ${output.paint('cyan', 'hint:')} ${error.hint}`)
    }
    output.info(`What exists:\n${indent(stateTable(state))}`)
    output.info(`Fix the cause and run the same command again; it continues where it stopped:\n  ${summary.resume}`)
    return
  }
  if (result.verify) output.result(formatReport(result.verify.report, output))
  const lines: string[] = ['']
  if (state.gatewayAddress) {
    lines.push(`Gateway: ${formatEndpoint({host: state.gatewayAddress, port: 4317})} (OTLP/gRPC), ${formatEndpoint({host: state.gatewayAddress, port: 4318})} (OTLP/HTTP)`)
  } else if (state.hubEndpoint) {
    lines.push(`Gateway: ${state.hubEndpoint} (OTLP/gRPC)`)
  }
  lines.push(`Grafana: fedobs open grafana (or ${access.portForward})`, `  then open ${access.grafanaUrl} as admin; the password: ${access.passwordCommand}`)
  if (result.verify && !result.verify.report.ok) lines.push('', `Some checks failed; run \`fedobs verify --wait 5m\` once the data flows, or fix what the hints say.`)
  output.result(lines.join('\n'))
  const skipped = result.steps.find((s) => s.step === 'verify' && s.status === 'skipped')
  output.success(`${federation.name}: ${state.clusters.length} cluster(s) up${skipped ? ' (verify skipped)' : result.verify?.report.ok ? ', data flow verified' : ''}`)
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}
