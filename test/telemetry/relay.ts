/**
 * A minimal real collector for contract tests of the fakes: an OTLP/HTTP receiver and one
 * otlp_http exporter per target, so the fakes are fed by the exporter code (protobuf + gzip by
 * default, or JSON) that feeds the real Loki and Tempo from the gateway.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {freePorts, httpOk, LOOPBACK} from '../../src/sandbox/telemetry/net.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

export interface RelayTarget {
  name: string
  encoding?: 'proto' | 'json'
  logsEndpoint?: string
  tracesEndpoint?: string
}

export interface Relay {
  /** The relay's OTLP/HTTP receiver, e.g. http://127.0.0.1:PORT (append /v1/logs, /v1/traces). */
  url: string
  process: ManagedProcess
  stop(): Promise<void>
}

export async function startRelay(otelcol: string, targets: RelayTarget[]): Promise<Relay> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-relay-'))
  const [otlpPort, healthPort] = await freePorts(2)
  const exporters: Record<string, unknown> = {}
  for (const t of targets) {
    exporters[`otlp_http/${t.name}`] = {
      ...(t.logsEndpoint ? {logs_endpoint: t.logsEndpoint} : {}),
      ...(t.tracesEndpoint ? {traces_endpoint: t.tracesEndpoint} : {}),
      ...(t.encoding ? {encoding: t.encoding} : {}),
      retry_on_failure: {enabled: true, initial_interval: '100ms', max_interval: '500ms'},
    }
  }
  const using = (key: 'logsEndpoint' | 'tracesEndpoint'): string[] => targets.filter((t) => t[key]).map((t) => `otlp_http/${t.name}`)
  const pipelines: Record<string, unknown> = {}
  if (using('logsEndpoint').length > 0) pipelines.logs = {receivers: ['otlp'], exporters: using('logsEndpoint')}
  if (using('tracesEndpoint').length > 0) pipelines.traces = {receivers: ['otlp'], exporters: using('tracesEndpoint')}
  const config = {
    receivers: {otlp: {protocols: {http: {endpoint: `${LOOPBACK}:${otlpPort}`}}}},
    exporters,
    extensions: {health_check: {endpoint: `${LOOPBACK}:${healthPort}`}},
    service: {extensions: ['health_check'], telemetry: {metrics: {level: 'none'}}, pipelines},
  }
  const file = path.join(dir, 'relay.yaml')
  writeFileSync(file, emitYaml(config))
  const process = new ManagedProcess({
    name: 'relay',
    command: otelcol,
    args: [`--config=${file}`],
    logFile: path.join(dir, 'relay.log'),
    ready: () => httpOk(`http://${LOOPBACK}:${healthPort}/`),
  })
  await process.start()
  return {
    url: `http://${LOOPBACK}:${otlpPort}`,
    process,
    async stop() {
      await process.stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
