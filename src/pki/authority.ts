/**
 * The federation's certificate authority, as data: a root CA, one issuing CA per cluster (hub and
 * edges), the gateway's server certificate and the identity-token key. Pure apart from key
 * generation and signing; where it is stored is the caller's business (a hub Secret).
 *
 * Revocation without CRL or OCSP (the collector has neither): the gateway trusts the bundle of the
 * clusters' issuing CAs, not the root. Revoking a cluster drops its CA from that bundle, which the
 * gateway re-reads on the next handshake; a new credential for it needs a new CA.
 */
import {UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {createIssuingCa, createRootCa, describeCertificate, issueLeaf, type KeyMaterial} from './x509.js'
import {tokenIssuer} from '../federation/identity.js'
import {createTokenKey, jwksDocument, signIdentityToken, type TokenKey} from './token.js'

export const DAY_MS = 86_400_000
const ROOT_VALIDITY_DAYS = 3650
const CLUSTER_CA_VALIDITY_DAYS = 1825
/** verify warns this long before any certificate expires. */
export const EXPIRY_WARNING_MS = 14 * DAY_MS

export type ClusterRole = 'hub' | 'edge'

export interface IssuedCertificate {
  serial: string
  fingerprint: string
  notAfter: string
  issuedAt: string
}

export interface ClusterRecord {
  role: ClusterRole
  /** The cluster's issuing CA; its key signs the cluster's client certificates. */
  ca: KeyMaterial
  /** The client certificate installed last (its key went to the cluster and is not kept). */
  client?: IssuedCertificate
  revoked?: {at: string; caSerial: string; caFingerprint: string}
}

export interface GatewayRecord extends IssuedCertificate {
  dnsNames: string[]
  ipAddresses: string[]
}

export interface PkiState {
  version: 1
  federation: string
  createdAt: string
  root: KeyMaterial
  /**
   * A CA whose key was thrown away at creation: always in the gateway's client-CA bundle, so the
   * bundle is never empty (the collector keeps the previous bundle when a new one fails to load,
   * which would keep a revoked CA trusted after the last cluster is revoked).
   */
  sentinelCa: string
  tokenKey: TokenKey
  clusters: Record<string, ClusterRecord>
  gateway?: GatewayRecord
  /** Every revocation ever made, newest last. */
  revocations: Array<{cluster: string; at: string; caSerial: string; caFingerprint: string}>
}

/** What a cluster's collectors need to talk to the gateway: installed as a Secret in the cluster. */
export interface ClientCredentials {
  cert: string
  key: string
  /** The federation root: the collectors verify the gateway against it. */
  caCert: string
  /** The identity token (JWT) the gateway reads cluster.id and cluster.role from. */
  token: string
}

export async function createAuthority(federation: string, now = new Date()): Promise<PkiState> {
  const organization = `fedobs federation ${federation}`
  const root = await createRootCa(`fedobs ${federation} root CA`, organization, ROOT_VALIDITY_DAYS, now)
  const sentinel = await createIssuingCa(root, `fedobs ${federation} sentinel CA (issues nothing)`, organization, ROOT_VALIDITY_DAYS, now)
  return {
    version: 1,
    federation,
    createdAt: now.toISOString(),
    root,
    sentinelCa: sentinel.cert,
    tokenKey: await createTokenKey(),
    clusters: {},
    revocations: [],
  }
}

async function issued(cert: string, now: Date): Promise<IssuedCertificate> {
  const info = await describeCertificate(cert)
  return {serial: info.serial, fingerprint: info.fingerprint, notAfter: info.notAfter, issuedAt: now.toISOString()}
}

/**
 * New client credentials for a cluster: a fresh key and certificate from the cluster's issuing CA
 * (created on first use), and an identity token that expires with the certificate. A revoked
 * cluster gets credentials only with `replaceRevoked` (then under a new CA).
 */
export async function issueClientCredentials(
  state: PkiState,
  cluster: string,
  role: ClusterRole,
  options: {validityMs: number; now?: Date; replaceRevoked?: boolean},
): Promise<{state: PkiState; credentials: ClientCredentials}> {
  const now = options.now ?? new Date()
  let record = state.clusters[cluster]
  if (record?.revoked && !options.replaceRevoked) throw new RevokedError(cluster)
  if (!record || record.revoked) {
    const ca = await createIssuingCa(state.root, `fedobs ${state.federation} cluster CA ${cluster}`, `fedobs federation ${state.federation}`, CLUSTER_CA_VALIDITY_DAYS, now)
    record = {role, ca}
  }
  const leaf = await issueLeaf(record.ca, {
    commonName: cluster,
    organization: `fedobs federation ${state.federation}`,
    usage: 'client',
    uris: [clusterUri(state.federation, cluster)],
    notAfter: new Date(now.getTime() + options.validityMs),
    now,
  })
  const client = await issued(leaf.cert, now)
  const token = await signIdentityToken(state.tokenKey, {issuer: tokenIssuer(state.federation), subject: cluster, role, expiresAt: new Date(client.notAfter), issuedAt: now})
  const next: PkiState = {...state, clusters: {...state.clusters, [cluster]: {role, ca: record.ca, client}}}
  return {state: next, credentials: {cert: leaf.cert, key: leaf.key, caCert: state.root.cert, token}}
}

/** The gateway's server certificate (signed by the root), for these names and addresses. */
export async function issueGatewayCertificate(
  state: PkiState,
  sans: {dnsNames: string[]; ipAddresses: string[]},
  options: {validityMs: number; now?: Date},
): Promise<{state: PkiState; material: KeyMaterial}> {
  const now = options.now ?? new Date()
  const material = await issueLeaf(state.root, {
    commonName: 'otel-gateway',
    organization: `fedobs federation ${state.federation}`,
    usage: 'server',
    dnsNames: sans.dnsNames,
    ipAddresses: sans.ipAddresses,
    notAfter: new Date(now.getTime() + options.validityMs),
    now,
  })
  const gateway: GatewayRecord = {...(await issued(material.cert, now)), dnsNames: [...sans.dnsNames], ipAddresses: [...sans.ipAddresses]}
  return {state: {...state, gateway}, material}
}

/** Revoke a cluster: its CA leaves the gateway's trust bundle. Revoking twice changes nothing. */
export async function revokeCluster(state: PkiState, cluster: string, now = new Date()): Promise<PkiState> {
  const record = state.clusters[cluster]
  if (!record) throw new UnknownClusterError(cluster, Object.keys(state.clusters))
  if (record.revoked) return state
  const ca = await describeCertificate(record.ca.cert)
  const revoked = {at: now.toISOString(), caSerial: ca.serial, caFingerprint: ca.fingerprint}
  return {
    ...state,
    clusters: {...state.clusters, [cluster]: {...record, revoked}},
    revocations: [...state.revocations, {cluster, ...revoked}],
  }
}

/** The client CAs the gateway trusts: every cluster CA not revoked, and the sentinel. */
export function clientCaBundle(state: PkiState): string {
  const cas = Object.keys(state.clusters)
    .sort()
    .filter((name) => !state.clusters[name]!.revoked)
    .map((name) => state.clusters[name]!.ca.cert)
  return [...cas, state.sentinelCa].map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('')
}

export function gatewayJwks(state: PkiState): string {
  return jwksDocument([state.tokenKey])
}

function clusterUri(federation: string, cluster: string): string {
  return `spiffe://${federation}.fedobs/cluster/${cluster}`
}

/** Does a certificate that expires at `notAfter` need renewing now? */
export function needsRenewal(notAfter: string | undefined, renewBeforeMs: number, now = new Date()): boolean {
  return notAfter === undefined || new Date(notAfter).getTime() - now.getTime() < renewBeforeMs
}

export class RevokedError extends UsageError {
  constructor(readonly cluster: string) {
    super(`the credentials of ${cluster} are revoked`, {
      code: 'revoked',
      hint: `Issue new ones under a new CA, once the cluster is safe again: fedobs certs rotate ${cluster}`,
    })
  }
}

export class UnknownClusterError extends UsageError {
  constructor(
    readonly cluster: string,
    readonly known: string[],
  ) {
    super(`the federation's CA has never issued credentials for "${cluster}"${known.length > 0 ? ` (it has for: ${known.join(', ')})` : ''}`, {
      code: 'unknown-cluster',
      suggestions: closest(cluster, known),
      hint: 'Credentials are issued by `fedobs deploy hub` (the hub) and `fedobs connect EDGE hub` (an edge).',
    })
  }
}

// ---------------------------------------------------------------- status

/** What a cluster holds compared with what the CA issued it (read from the cluster's Secret). */
export interface InstalledCheck {
  cluster: string
  /** ok: the installed certificate is the one the CA issued last, from its CA, not expired. */
  state: 'ok' | 'missing' | 'foreign' | 'stale' | 'expired' | 'revoked' | 'unreachable'
  detail: string
  notAfter?: string
}

export type CertificateState = 'valid' | 'expiring' | 'expired' | 'revoked' | 'missing'

export interface CertificateStatus {
  /** root | gateway | cluster-ca | client */
  kind: 'root' | 'gateway' | 'cluster-ca' | 'client'
  cluster?: string
  role?: ClusterRole
  subject: string
  serial?: string
  notAfter?: string
  /** Whole days left (negative once expired). */
  daysLeft?: number
  state: CertificateState
}

function stateOf(notAfter: string | undefined, now: Date, revoked = false): {state: CertificateState; daysLeft?: number} {
  if (revoked) return {state: 'revoked', ...(notAfter ? {daysLeft: Math.floor((new Date(notAfter).getTime() - now.getTime()) / DAY_MS)} : {})}
  if (!notAfter) return {state: 'missing'}
  const left = new Date(notAfter).getTime() - now.getTime()
  return {state: left <= 0 ? 'expired' : left < EXPIRY_WARNING_MS ? 'expiring' : 'valid', daysLeft: Math.floor(left / DAY_MS)}
}

/** Every certificate of the federation with its state (no keys). */
export async function certificateStatus(state: PkiState, now = new Date()): Promise<CertificateStatus[]> {
  const out: CertificateStatus[] = []
  const root = await describeCertificate(state.root.cert)
  out.push({kind: 'root', subject: root.subject, serial: root.serial, notAfter: root.notAfter, ...stateOf(root.notAfter, now)})
  out.push(
    state.gateway
      ? {
          kind: 'gateway',
          subject: `otel-gateway (${[...state.gateway.dnsNames.slice(-1), ...state.gateway.ipAddresses].join(', ')})`,
          serial: state.gateway.serial,
          notAfter: state.gateway.notAfter,
          ...stateOf(state.gateway.notAfter, now),
        }
      : {kind: 'gateway', subject: 'otel-gateway', state: 'missing'},
  )
  for (const name of Object.keys(state.clusters).sort()) {
    const record = state.clusters[name]!
    const ca = await describeCertificate(record.ca.cert)
    out.push({kind: 'cluster-ca', cluster: name, role: record.role, subject: ca.subject, serial: ca.serial, notAfter: ca.notAfter, ...stateOf(ca.notAfter, now, Boolean(record.revoked))})
    out.push({
      kind: 'client',
      cluster: name,
      role: record.role,
      subject: name,
      ...(record.client ? {serial: record.client.serial, notAfter: record.client.notAfter} : {}),
      ...stateOf(record.client?.notAfter, now, Boolean(record.revoked)),
    })
  }
  return out
}
