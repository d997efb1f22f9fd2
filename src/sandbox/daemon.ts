/**
 * The sandbox process (started detached by `fedobs sandbox start`): the spec-checked fake Linode API,
 * a test bed whose API servers are the LKE clusters it creates, and the telemetry of whatever fedobs
 * deploys into them running for real (telemetry/runtime.ts). Runs until SIGTERM/SIGINT.
 *   node dist/sandbox/daemon.js DIR   (options in env: FEDOBS_SANDBOX_TIME_SCALE, FEDOBS_SANDBOX_PORT)
 */
import {randomBytes} from 'node:crypto'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {testbedBinaries} from './binaries.js'
import {isAlive, readState, stateFile, statusFile, writeJsonAtomic, type SandboxState, type SandboxStatus} from './state.js'
import {podNetwork, type PodNetwork} from './telemetry/kube.js'
import {SandboxTelemetry} from './telemetry/runtime.js'
import {startLinodeTestbed} from './testbed/bridge.js'

const dir = path.resolve(process.argv[2] ?? '')
if (!process.argv[2]) {
  process.stderr.write('usage: daemon.js DIR\n')
  process.exit(2)
}
const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`)

const previous = readState(dir)
if (previous && previous.pid !== process.pid && isAlive(previous.pid)) {
  log(`a sandbox already runs here (pid ${previous.pid})`)
  process.exit(3)
}

const timeScale = Number(process.env.FEDOBS_SANDBOX_TIME_SCALE ?? '0.02')
const port = Number(process.env.FEDOBS_SANDBOX_PORT ?? '0')
const binaries = testbedBinaries()
const need = ['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS', 'FEDOBS_KUBE_STATE_METRICS']
const missing = need.filter((n) => !binaries[n] || !existsSync(binaries[n]))
if (missing.length > 0) {
  log(`missing binaries: ${missing.join(', ')} (build them: bash scripts/testbed/build.sh)`)
  process.exit(4)
}

const networks = new Map<number, PodNetwork>()
const networkOf = (lkeId: number): PodNetwork => {
  let network = networks.get(lkeId)
  if (!network) networks.set(lkeId, (network = podNetwork()))
  return network
}
const token = randomBytes(32).toString('hex')
const sandbox = await startLinodeTestbed({
  fake: {timeScale, port, token},
  testbed: {tmpRoot: dir},
  bridge: {podCidrFor: (lkeId) => networkOf(lkeId).cidr},
})
const telemetry = new SandboxTelemetry({
  binaries: {
    otelcol: binaries.FEDOBS_OTELCOL!,
    prometheus: binaries.FEDOBS_PROMETHEUS!,
    kubeStateMetrics: binaries.FEDOBS_KUBE_STATE_METRICS!,
    ...(binaries.FEDOBS_VICTORIALOGS && existsSync(binaries.FEDOBS_VICTORIALOGS) ? {victoriaLogs: binaries.FEDOBS_VICTORIALOGS} : {}),
  },
  dir: path.join(dir, 'telemetry'),
  clusters: () => (process.env.FEDOBS_SANDBOX_TELEMETRY === '0' ? [] : sandbox.bridge.running().map((c) => ({...c, network: networkOf(c.lkeId)}))),
  log,
})
await telemetry.start()

const tokenFile = path.join(dir, 'token')
writeFileSync(tokenFile, `${token}\n`, {mode: 0o600})
const state: SandboxState = {
  pid: process.pid,
  startedAt: new Date().toISOString(),
  dir,
  linodeUrl: sandbox.fake.url,
  tokenFile,
  kubeconfig: path.join(dir, 'kubeconfig'),
  timeScale,
  prometheusUrl: telemetry.prometheusUrl,
  lokiUrl: telemetry.loki.url,
  tempoUrl: telemetry.tempo.url,
  logFile: path.join(dir, 'sandbox.log'),
}

function writeStatus(): void {
  const view = sandbox.fake.view()
  const servers = new Map(sandbox.bridge.running().map((c) => [c.lkeId, c.cluster.server]))
  const status: SandboxStatus = {
    at: new Date().toISOString(),
    clusters: view.clusters.map((c) => ({
      lkeId: c.id,
      label: c.label,
      status: c.status,
      nodes: view.nodes.filter((n) => n.clusterId === c.id && n.status === 'ready').length,
      server: servers.get(c.id) ?? '',
    })),
    processes: telemetry.processes(),
    errors: [...new Set([...sandbox.bridge.errors(), ...telemetry.errors])],
  }
  writeJsonAtomic(statusFile(dir), status)
}
writeStatus()
writeJsonAtomic(stateFile(dir), state)
const statusTimer = setInterval(writeStatus, 2000)
log(`sandbox ready: Linode API ${state.linodeUrl}, Prometheus ${state.prometheusUrl}`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130)
    stopping = true
    log(`${signal}: stopping the sandbox`)
    clearInterval(statusTimer)
    void (async () => {
      try {
        await telemetry.stop()
        await sandbox.stop()
      } catch (error) {
        log(`stop: ${String(error)}`)
      }
      rmSync(stateFile(dir), {force: true})
      rmSync(statusFile(dir), {force: true})
      rmSync(tokenFile, {force: true})
      rmSync(path.join(dir, 'telemetry'), {recursive: true, force: true})
      log('sandbox stopped')
      process.exit(0)
    })()
  })
}
