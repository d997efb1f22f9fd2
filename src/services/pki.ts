/**
 * Where the federation's PKI lives and how its credentials reach the clusters.
 *
 * The CA (root key, cluster CA keys, token key) is the Secret observability-hub/fedobs-pki on the
 * hub: whoever may read Secrets there can mint identities, exactly those who can already read all
 * the federation's telemetry. Nothing is written to the operator's disk and no key is printed.
 * Writes use the Secret's resourceVersion, so two fedobs processes never lose each other's work.
 */
import {isIP} from 'node:net'
import type {ClusterSpec, Federation} from '../federation/model.js'
import {isKubeStatus, type Kube, type KubeObject} from '../kube/api.js'
import {OperationError, UsageError} from '../lib/errors.js'
import type {Report} from '../lib/progress.js'
import {parseDuration} from '../lib/time.js'
import {
  certificateStatus,
  clientCaBundle,
  createAuthority,
  gatewayJwks,
  issueClientCredentials,
  issueGatewayCertificate,
  needsRenewal,
  revokeCluster,
  RevokedError,
  UnknownClusterError,
  type CertificateStatus,
  type ClientCredentials,
  type InstalledCheck,
  type PkiState,
} from '../pki/authority.js'
import {describeCertificate, isSignedBy} from '../pki/x509.js'
import {FIELD_MANAGER, LABELS, NAMESPACES} from '../render/render.js'
import {SECRETS} from '../render/security.js'

const STATE_KEY = 'state.json'
// Writers that collide (every edge of `fedobs up` connecting at once) each get through in turn:
// one wins a round, so N concurrent writers need N rounds; jittered pauses spread them.
const MAX_ATTEMPTS = 40

export interface PkiOptions {
  report: Report
  dryRun?: boolean
}

function lifetimes(federation: Federation): {validityMs: number; renewBeforeMs: number} {
  const validityMs = parseDuration(federation.security.certificates.validity)
  const renewBeforeMs = parseDuration(federation.security.certificates.renewBefore)
  if (!validityMs || renewBeforeMs === undefined) throw new UsageError('security.certificates: validity and renewBefore must be durations such as 90d and 30d')
  if (renewBeforeMs >= validityMs) {
    throw new UsageError(`security.certificates.renewBefore (${federation.security.certificates.renewBefore}) must be shorter than validity (${federation.security.certificates.validity})`, {
      hint: 'Otherwise every deploy would re-issue every certificate.',
    })
  }
  return {validityMs, renewBeforeMs}
}

// ---------------------------------------------------------------- Secrets

function labels(name: string): Record<string, string> {
  return {[LABELS.name]: name, [LABELS.component]: 'pki', [LABELS.partOf]: 'fedobs'}
}

async function readSecret(kube: Kube, namespace: string, name: string): Promise<KubeObject | undefined> {
  return kube.read({apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace}}, `reading Secret ${namespace}/${name}`)
}

function decoded(secret: KubeObject | undefined, key: string): string | undefined {
  const value = secret?.data?.[key]
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8')
}

/** Server-side apply of a Secret (field manager fedobs); returns whether its data changed. */
async function applySecret(kube: Kube, namespace: string, name: string, type: string, data: Record<string, string>): Promise<boolean> {
  const existing = await readSecret(kube, namespace, name)
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]))
  if (existing && existing.type === type && JSON.stringify(existing.data ?? {}) === JSON.stringify(encoded)) return false
  if (existing && existing.type !== type) {
    // The type of a Secret cannot change in place.
    await kube.delete({apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace}}, {what: `replacing Secret ${namespace}/${name}`})
  }
  const body = {apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace, labels: labels(name)}, type, data: encoded}
  await kube.apply(body, {fieldManager: FIELD_MANAGER, force: true, what: `writing Secret ${namespace}/${name}`})
  return true
}

// ---------------------------------------------------------------- the CA on the hub

/** The federation's CA as stored on the hub, or undefined before `deploy hub` created it. */
export async function readAuthority(hub: Kube, federation: Federation): Promise<PkiState | undefined> {
  const secret = await readSecret(hub, NAMESPACES.hub, SECRETS.pki)
  return secret ? parseState(secret, federation) : undefined
}

function parseState(secret: KubeObject, federation: Federation): PkiState {
  let state: PkiState
  try {
    state = JSON.parse(decoded(secret, STATE_KEY) ?? '') as PkiState
  } catch {
    throw new OperationError(`Secret ${NAMESPACES.hub}/${SECRETS.pki} does not hold a fedobs CA (no readable ${STATE_KEY})`, {
      hint: 'It was changed by hand. Restore it from a backup; deleting it makes a new CA and every cluster then needs `fedobs connect` again.',
    })
  }
  if (state.version !== 1 || !state.root?.cert) throw new OperationError(`Secret ${NAMESPACES.hub}/${SECRETS.pki}: unknown CA format (version ${String(state.version)})`)
  if (state.federation !== federation.name) {
    throw new UsageError(`the hub's CA belongs to federation "${state.federation}", not "${federation.name}"`, {
      hint: 'One hub serves one federation: check name: in the federation file, or the --context.',
      code: 'federation-mismatch',
    })
  }
  return state
}

/**
 * Read-modify-write the CA with optimistic concurrency: `change` gets the current state (undefined
 * when there is none) and returns the new one (or the same object: nothing to write).
 */
async function updateAuthority<T>(hub: Kube, federation: Federation, change: (state: PkiState | undefined) => Promise<{state: PkiState; result: T}>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const secret = await readSecret(hub, NAMESPACES.hub, SECRETS.pki)
    const current = secret ? parseState(secret, federation) : undefined
    const {state, result} = await change(current)
    if (state === current) return result
    const data = {[STATE_KEY]: Buffer.from(JSON.stringify(state), 'utf8').toString('base64')}
    try {
      const what = `writing Secret ${NAMESPACES.hub}/${SECRETS.pki}`
      if (secret) {
        await hub.replace({...secret, apiVersion: 'v1', kind: 'Secret', metadata: {...secret.metadata, name: SECRETS.pki, namespace: NAMESPACES.hub}, data}, what)
      } else {
        await hub.create({apiVersion: 'v1', kind: 'Secret', metadata: {name: SECRETS.pki, namespace: NAMESPACES.hub, labels: labels(SECRETS.pki)}, type: 'Opaque', data}, what)
      }
      return result
    } catch (error) {
      // Someone else wrote it meanwhile: start again from what they wrote.
      if (isKubeStatus(error, 409) && attempt < MAX_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 80 * Math.min(attempt, 5))))
        continue
      }
      throw error
    }
  }
}

function noAuthority(): UsageError {
  return new UsageError(`the hub has no federation CA yet (Secret ${NAMESPACES.hub}/${SECRETS.pki})`, {
    hint: 'Run `fedobs deploy hub` first: it creates the CA and the gateway certificate.',
    code: 'no-ca',
  })
}

/** updateAuthority for a CA that must exist already (`deploy hub` creates it). */
function changeAuthority<T>(hub: Kube, federation: Federation, change: (state: PkiState) => Promise<{state: PkiState; result: T}>): Promise<T> {
  return updateAuthority(hub, federation, async (current) => {
    if (!current) throw noAuthority()
    return change(current)
  })
}

/** What the gateway trusts: the cluster CAs not revoked, and the token keys. */
async function installTrust(hub: Kube, state: PkiState): Promise<boolean> {
  return applySecret(hub, NAMESPACES.hub, SECRETS.gatewayTrust, 'Opaque', {'client-cas.pem': clientCaBundle(state), 'jwks.json': gatewayJwks(state)})
}

async function installClient(kube: Kube, credentials: ClientCredentials): Promise<void> {
  await applySecret(kube, NAMESPACES.observability, SECRETS.client, 'kubernetes.io/tls', {
    'tls.crt': credentials.cert,
    'tls.key': credentials.key,
    'ca.crt': credentials.caCert,
    token: credentials.token,
  })
}

// ---------------------------------------------------------------- the gateway certificate

const GATEWAY_DNS = ['otel-gateway', `otel-gateway.${NAMESPACES.hub}`, `otel-gateway.${NAMESPACES.hub}.svc`, `otel-gateway.${NAMESPACES.hub}.svc.cluster.local`]

/** Names and addresses the gateway certificate must cover: the Service names, its LB addresses, a fixed endpoint. */
export function gatewaySans(federation: Federation, addresses: string[]): {dnsNames: string[]; ipAddresses: string[]} {
  const hosts = [...addresses]
  const fixed = federation.telemetry.gateway.endpoint
  if (fixed) hosts.push(fixed.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'))
  const ipAddresses = [...new Set(hosts.filter((h) => isIP(h) !== 0))]
  const dnsNames = [...new Set([...GATEWAY_DNS, ...hosts.filter((h) => isIP(h) === 0)])]
  return {dnsNames, ipAddresses}
}

function covers(state: PkiState, sans: {dnsNames: string[]; ipAddresses: string[]}): boolean {
  const gateway = state.gateway
  if (!gateway) return false
  return sans.dnsNames.every((d) => gateway.dnsNames.includes(d)) && sans.ipAddresses.every((ip) => gateway.ipAddresses.includes(ip))
}

export interface HubPkiResult {
  caCreated: boolean
  /** What was issued this time, e.g. "gateway certificate (otel-gateway, 172.238.181.107)". */
  issued: string[]
}

/**
 * Everything the hub needs before its workloads start: the CA, the gateway's certificate (for the
 * addresses known so far), the trust Secret, and the hub's own client credentials. Idempotent: a
 * second run issues nothing unless something is missing, no longer covers an address, or is due
 * for renewal.
 */
export async function ensureHubPki(hub: Kube, federation: Federation, addresses: string[], options: PkiOptions): Promise<HubPkiResult> {
  const {validityMs, renewBeforeMs} = lifetimes(federation)
  const issued: string[] = []
  let caCreated = false
  if (options.dryRun) return {caCreated: !(await readAuthority(hub, federation)), issued}
  const sans = gatewaySans(federation, addresses)
  const tlsSecret = await readSecret(hub, NAMESPACES.hub, SECRETS.gatewayTls)
  const installedGateway = decoded(tlsSecret, 'tls.crt')
  const installedGatewayFingerprint = installedGateway ? (await describeCertificate(installedGateway)).fingerprint : undefined
  const hubClient = await installedClient(hub)

  const outcome = await updateAuthority(hub, federation, async (current) => {
    let state = current ?? (await createAuthority(federation.name))
    caCreated = !current
    let gatewayMaterial: {cert: string; key: string} | undefined
    if (!covers(state, sans) || needsRenewal(state.gateway?.notAfter, renewBeforeMs) || installedGatewayFingerprint !== state.gateway?.fingerprint) {
      const next = await issueGatewayCertificate(state, sans, {validityMs})
      state = next.state
      gatewayMaterial = next.material
    }
    let hubCredentials: ClientCredentials | undefined
    const record = state.clusters[federation.hub.name]
    if (!record?.client || needsRenewal(record.client.notAfter, renewBeforeMs) || hubClient?.fingerprint !== record.client.fingerprint) {
      const next = await issueClientCredentials(state, federation.hub.name, 'hub', {validityMs})
      state = next.state
      hubCredentials = next.credentials
    }
    return {state, result: {state, gatewayMaterial, hubCredentials}}
  })
  const {state, gatewayMaterial, hubCredentials} = outcome
  if (caCreated) options.report(`created the federation CA (Secret ${NAMESPACES.hub}/${SECRETS.pki})`)
  if (gatewayMaterial) {
    await applySecret(hub, NAMESPACES.hub, SECRETS.gatewayTls, 'kubernetes.io/tls', {'tls.crt': gatewayMaterial.cert, 'tls.key': gatewayMaterial.key})
    const what = `gateway certificate (${[...state.gateway!.ipAddresses, state.gateway!.dnsNames.at(-1)].join(', ')}; until ${state.gateway!.notAfter.slice(0, 10)})`
    issued.push(what)
    options.report(`issued the ${what}`)
  }
  if (await installTrust(hub, state)) options.report('updated the gateway trust bundle (cluster CAs, token keys)')
  if (hubCredentials) {
    await installClient(hub, hubCredentials)
    issued.push(`client certificate of ${federation.hub.name}`)
    options.report(`issued the client certificate and identity token of ${federation.hub.name}`)
  }
  return {caCreated, issued}
}

// ---------------------------------------------------------------- cluster credentials

/** The client certificate installed in a cluster (observability/otel-gateway-client), if any. */
async function installedClient(kube: Kube): Promise<{fingerprint: string; cert: string; notAfter: string} | undefined> {
  const secret = await readSecret(kube, NAMESPACES.observability, SECRETS.client)
  const cert = decoded(secret, 'tls.crt')
  if (!cert) return undefined
  try {
    const info = await describeCertificate(cert)
    return {fingerprint: info.fingerprint, cert, notAfter: info.notAfter}
  } catch {
    return undefined
  }
}

export interface CredentialsResult {
  cluster: string
  issued: boolean
  reason?: string
  notAfter: string
}

/** Why a cluster needs new credentials now, or undefined when what it holds is good. */
function issueReason(record: PkiState['clusters'][string] | undefined, installed: {fingerprint: string} | undefined, renewBeforeMs: number, force: boolean): string | undefined {
  if (force) return 'rotation requested'
  if (record?.revoked) return 'revoked: new CA'
  if (!record?.client) return 'first credentials'
  if (!installed) return 'none installed in the cluster'
  if (installed.fingerprint !== record.client.fingerprint) return 'the installed certificate is not the one the CA issued last'
  if (needsRenewal(record.client.notAfter, renewBeforeMs)) return `expires ${record.client.notAfter.slice(0, 10)}`
  return undefined
}

/**
 * Make sure a cluster holds valid credentials from the federation CA: issue and install new ones
 * when it has none, they are not the ones the CA issued last, or they are due for renewal (`force`:
 * always). A revoked cluster is refused unless `replaceRevoked` (then it gets a new CA).
 */
export async function ensureClusterCredentials(
  hub: Kube,
  kube: Kube,
  federation: Federation,
  cluster: ClusterSpec,
  options: PkiOptions & {force?: boolean; replaceRevoked?: boolean},
): Promise<CredentialsResult> {
  const {validityMs, renewBeforeMs} = lifetimes(federation)
  const installed = await installedClient(kube)
  type Outcome = {credentials: ClientCredentials | undefined; reason: string | undefined; state: PkiState}
  const {credentials, reason, state} = await changeAuthority<Outcome>(hub, federation, async (state) => {
    const record = state.clusters[cluster.name]
    if (record?.revoked && !options.replaceRevoked) throw new RevokedError(cluster.name)
    const reason = issueReason(record, installed, renewBeforeMs, options.force ?? false)
    if (!reason || options.dryRun) return {state, result: {credentials: undefined, reason, state}}
    const next = await issueClientCredentials(state, cluster.name, cluster.role, {validityMs, replaceRevoked: options.replaceRevoked ?? false})
    return {state: next.state, result: {credentials: next.credentials, reason, state: next.state}}
  })
  if (credentials) {
    // The new CA (if any) must be trusted before the cluster presents a certificate from it.
    await installTrust(hub, state)
    await installClient(kube, credentials)
    options.report(`issued the client certificate and identity token of ${cluster.name} (${reason})`)
  }
  return {cluster: cluster.name, issued: Boolean(credentials), ...(reason ? {reason} : {}), notAfter: state.clusters[cluster.name]?.client?.notAfter ?? ''}
}

/** A new gateway certificate now (or only if the addresses are not covered). */
export async function rotateGateway(hub: Kube, federation: Federation, addresses: string[], options: PkiOptions & {force: boolean}): Promise<{issued: boolean; notAfter: string; sans: string[]}> {
  const {validityMs} = lifetimes(federation)
  const sans = gatewaySans(federation, addresses)
  type Outcome = {state: PkiState; material: {cert: string; key: string} | undefined}
  const {state, material} = await changeAuthority<Outcome>(hub, federation, async (current) => {
    if (!options.force && covers(current, sans)) return {state: current, result: {state: current, material: undefined}}
    const next = await issueGatewayCertificate(current, sans, {validityMs})
    return {state: next.state, result: {state: next.state, material: next.material}}
  })
  if (material) {
    await applySecret(hub, NAMESPACES.hub, SECRETS.gatewayTls, 'kubernetes.io/tls', {'tls.crt': material.cert, 'tls.key': material.key})
    options.report(`issued a new gateway certificate (${[...state.gateway!.ipAddresses, ...state.gateway!.dnsNames].join(', ')})`)
  }
  return {issued: Boolean(material), notAfter: state.gateway?.notAfter ?? '', sans: [...(state.gateway?.ipAddresses ?? []), ...(state.gateway?.dnsNames ?? [])]}
}

/** Revoke a cluster: its CA leaves the gateway's trust bundle (new connections refused at once). */
export async function revokeClusterCredentials(hub: Kube, federation: Federation, name: string, options: PkiOptions): Promise<{revoked: boolean; at: string}> {
  const state = await changeAuthority(hub, federation, async (current) => {
    if (!current.clusters[name]) throw new UnknownClusterError(name, Object.keys(current.clusters))
    const next = await revokeCluster(current, name)
    return {state: next, result: next}
  })
  await installTrust(hub, state)
  options.report(`revoked ${name}: its CA is no longer in the gateway's trust bundle`)
  return {revoked: true, at: state.clusters[name]!.revoked!.at}
}

// ---------------------------------------------------------------- status

/**
 * Compare what a cluster holds (observability/otel-gateway-client) with what the CA issued:
 * missing, from another CA, an older certificate, expired, or revoked.
 */
export async function checkInstalled(state: PkiState, cluster: string, kube: Kube | undefined, now = new Date()): Promise<InstalledCheck> {
  const record = state.clusters[cluster]
  if (record?.revoked) return {cluster, state: 'revoked', detail: `revoked ${record.revoked.at.slice(0, 16).replace('T', ' ')}`}
  if (!kube) return {cluster, state: 'unreachable', detail: 'no kubeconfig context to look into the cluster'}
  let installed: Awaited<ReturnType<typeof installedClient>>
  try {
    installed = await installedClient(kube)
  } catch (error) {
    return {cluster, state: 'unreachable', detail: (error as Error).message}
  }
  if (!installed) return {cluster, state: 'missing', detail: `no client certificate (Secret ${NAMESPACES.observability}/${SECRETS.client})`}
  if (!record || !(await isSignedBy(installed.cert, record.ca.cert))) {
    return {cluster, state: 'foreign', detail: "the installed certificate was not issued by this federation's CA for this cluster", notAfter: installed.notAfter}
  }
  if (new Date(installed.notAfter).getTime() <= now.getTime()) return {cluster, state: 'expired', detail: `expired ${installed.notAfter.slice(0, 10)}`, notAfter: installed.notAfter}
  if (record.client && installed.fingerprint !== record.client.fingerprint) {
    return {cluster, state: 'stale', detail: 'an older certificate than the CA issued last', notAfter: installed.notAfter}
  }
  return {cluster, state: 'ok', detail: `valid until ${installed.notAfter.slice(0, 10)}`, notAfter: installed.notAfter}
}

export interface PkiReport {
  certificates: CertificateStatus[]
  installed: InstalledCheck[]
}

/** Every certificate's state, and (where a cluster is reachable) what it has installed. No keys. */
export async function pkiReport(hub: Kube, federation: Federation, clusters: Array<{name: string; kube: Kube | undefined}>): Promise<PkiReport | undefined> {
  const state = await readAuthority(hub, federation)
  if (!state) return undefined
  const installed = await Promise.all(clusters.map((c) => checkInstalled(state, c.name, c.kube)))
  return {certificates: await certificateStatus(state), installed}
}
