/**
 * `fedobs verify` as a service: which backends to query (given URLs, else the hub API server's
 * service proxy), the certificate facts (reads only), and the poll until every check passes.
 */
import {allClusters, type ClusterSpec, type Federation} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import type {Clock} from '../lib/time.js'
import {NAMESPACES} from '../render/render.js'
import {directBackend, serviceProxyBackend, type Backend} from '../verify/backends.js'
import type {CertificateFacts} from '../verify/certificates.js'
import {verify, type VerifyBackends, type VerifyOptions, type VerifyReport} from '../verify/checks.js'

/** Seconds between two rounds of `verify --wait`. */
export const RETRY_MS = 10_000

export interface BackendChoice {
  prometheusUrl?: string
  lokiUrl?: string
  tempoUrl?: string
  skipLogs?: boolean
  skipTraces?: boolean
}

/** Each backend at its URL when one is given, else through the hub API server (connected only then). */
export async function verifyBackends(choice: BackendChoice, hub: () => Promise<Kube>): Promise<VerifyBackends> {
  const backend = async (name: string, url: string | undefined, service: string, port: string): Promise<Backend> =>
    url ? directBackend(name, url) : serviceProxyBackend(name, await hub(), NAMESPACES.monitoring, service, port)
  return {
    prometheus: await backend('Prometheus', choice.prometheusUrl, 'prometheus', 'web'),
    ...(choice.skipLogs ? {} : {loki: await backend('Loki', choice.lokiUrl, 'loki', 'http')}),
    ...(choice.skipTraces ? {} : {tempo: await backend('Tempo', choice.tempoUrl, 'tempo', 'http')}),
  }
}

/** The PKI as the hub holds it, and what each cluster has installed (reads only). */
export async function certificateFacts(federation: Federation, hub: () => Promise<Kube>, connect: (cluster: ClusterSpec) => Promise<Kube>, only: string[] | undefined): Promise<CertificateFacts> {
  if (!federation.security.mtls) return {unavailable: 'mTLS is off'}
  let hubKube: Kube
  try {
    hubKube = await hub()
  } catch (error) {
    return {unavailable: (error as Error).message}
  }
  const clusters = await Promise.all(
    allClusters(federation)
      .filter((c) => !only || only.includes(c.name))
      .map(async (cluster) => ({name: cluster.name, kube: cluster.role === 'hub' ? hubKube : await connect(cluster).catch(() => undefined)})),
  )
  try {
    // Loaded only when certificates are checked (X.509 parsing is the heaviest import of verify).
    const {pkiReport} = await import('./pki.js')
    const report = await pkiReport(hubKube, federation, clusters)
    return report ?? {noAuthority: true}
  } catch (error) {
    return {unavailable: (error as Error).message}
  }
}

export interface VerifyRun {
  report: VerifyReport
  /** Rounds run (1 without a wait). */
  attempts: number
}

/**
 * Run the checks; with `waitMs`, again every 10 s (on the clock given) until they pass or the next
 * round would start after the deadline.
 */
export async function verifyUntilPassing(
  federation: Federation,
  backends: VerifyBackends,
  options: VerifyOptions & {waitMs?: number; clock: Clock; onRetry?: (report: VerifyReport, attempt: number) => void; onBackendRetry?: (error: Error, attempt: number) => void},
): Promise<VerifyRun> {
  const {waitMs, clock, onRetry, onBackendRetry, ...verifyOptions} = options
  const deadline = waitMs === undefined ? 0 : clock.now() + waitMs
  for (let attempts = 1; ; attempts++) {
    let report: VerifyReport
    try {
      report = await verify(federation, backends, verifyOptions)
    } catch (error) {
      // While waiting, a backend that cannot be reached yet (Prometheus starting, its pod being
      // replaced) is one more reason to look again, not the end: the last such error is thrown
      // only once the wait is over.
      const code = (error as {code?: string}).code
      if (waitMs === undefined || (code !== 'backend-unreachable' && code !== 'backend-error') || clock.now() + RETRY_MS > deadline) throw error
      onBackendRetry?.(error as Error, attempts)
      await clock.sleep(RETRY_MS, options.signal)
      continue
    }
    if (report.ok || waitMs === undefined || clock.now() + RETRY_MS > deadline) return {report, attempts}
    onRetry?.(report, attempts)
    await clock.sleep(RETRY_MS, options.signal)
  }
}
