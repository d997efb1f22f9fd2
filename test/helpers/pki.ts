/**
 * The federation PKI for tests that run the real collectors outside Kubernetes: the same src/pki
 * code the CLI uses issues every certificate and token, and each Secret the collectors mount is a
 * directory laid out the way the kubelet projects a Secret volume (files are symlinks through
 * `..data`, and an update swaps `..data` atomically), so reloads are tested as they happen in a pod.
 */
import {request as httpsRequest} from 'node:https'
import {connect as tlsConnect} from 'node:tls'
import path from 'node:path'
import {
  clientCaBundle,
  createAuthority,
  DAY_MS,
  gatewayJwks,
  issueClientCredentials,
  issueGatewayCertificate,
  revokeCluster,
  type ClientCredentials,
  type ClusterRole,
  type PkiState,
} from '../../src/pki/authority.js'
import {MOUNTS} from '../../src/render/security.js'

export {SecretVolume} from '../../src/sandbox/telemetry/mounts.js'
import {SecretVolume} from '../../src/sandbox/telemetry/mounts.js'

export interface ClusterIdentity {
  name: string
  role: ClusterRole
}

/** The PKI of a test federation, with one client Secret volume per cluster. */
export class TestPki {
  readonly gatewayTls: SecretVolume
  readonly trust: SecretVolume
  readonly clients = new Map<string, SecretVolume>()
  /** The credentials last issued per cluster (what its Secret holds). */
  readonly issued = new Map<string, ClientCredentials>()

  private constructor(
    readonly dir: string,
    public state: PkiState,
    private readonly validityMs: number,
  ) {
    this.gatewayTls = new SecretVolume(path.join(dir, 'otel-gateway-tls'))
    this.trust = new SecretVolume(path.join(dir, 'otel-gateway-trust'))
  }

  static async create(dir: string, federation: string, options: {gatewayAddresses: string[]; clusters: ClusterIdentity[]; validityMs?: number}): Promise<TestPki> {
    const pki = new TestPki(dir, await createAuthority(federation), options.validityMs ?? 30 * DAY_MS)
    await pki.rotateGateway(options.gatewayAddresses)
    for (const cluster of options.clusters) await pki.issue(cluster)
    return pki
  }

  /** New client credentials for a cluster, installed in its Secret volume; the trust bundle follows. */
  async issue(cluster: ClusterIdentity, options: {now?: Date; validityMs?: number; replaceRevoked?: boolean} = {}): Promise<ClientCredentials> {
    const next = await issueClientCredentials(this.state, cluster.name, cluster.role, {
      validityMs: options.validityMs ?? this.validityMs,
      ...(options.now ? {now: options.now} : {}),
      ...(options.replaceRevoked ? {replaceRevoked: true} : {}),
    })
    this.state = next.state
    this.writeTrust()
    this.install(cluster.name, next.credentials)
    return next.credentials
  }

  /**
   * Credentials from the cluster's CA that the CA does not record or install (e.g. one expired
   * long ago, or a second copy): what a cluster could present besides its current Secret.
   */
  async mint(cluster: ClusterIdentity, options: {now?: Date; validityMs?: number} = {}): Promise<ClientCredentials> {
    const next = await issueClientCredentials(this.state, cluster.name, cluster.role, {validityMs: options.validityMs ?? this.validityMs, ...(options.now ? {now: options.now} : {})})
    if (!this.state.clusters[cluster.name]) {
      // A new cluster CA was made for it: keep it (so it can be trusted), not its certificate.
      this.state = {...this.state, clusters: {...this.state.clusters, [cluster.name]: {role: cluster.role, ca: next.state.clusters[cluster.name]!.ca}}}
    }
    return next.credentials
  }

  install(cluster: string, credentials: ClientCredentials): void {
    let volume = this.clients.get(cluster)
    if (!volume) {
      volume = new SecretVolume(path.join(this.dir, `client-${cluster.replace(/[^a-z0-9-]/gi, '_')}`))
      this.clients.set(cluster, volume)
    }
    volume.write({'tls.crt': credentials.cert, 'tls.key': credentials.key, 'ca.crt': credentials.caCert, token: credentials.token})
    this.issued.set(cluster, credentials)
  }

  async rotateGateway(addresses: string[]): Promise<void> {
    const next = await issueGatewayCertificate(this.state, {dnsNames: ['otel-gateway', 'otel-gateway.observability-hub.svc', 'localhost'], ipAddresses: addresses}, {validityMs: this.validityMs})
    this.state = next.state
    this.gatewayTls.write({'tls.crt': next.material.cert, 'tls.key': next.material.key})
    this.writeTrust()
  }

  async revoke(cluster: string): Promise<void> {
    this.state = await revokeCluster(this.state, cluster)
    this.writeTrust()
  }

  writeTrust(): void {
    this.trust.write({'client-cas.pem': clientCaBundle(this.state), 'jwks.json': gatewayJwks(this.state)})
  }

  /** Mount path → local directory, for the gateway and for one cluster's collectors. */
  gatewayMounts(): Record<string, string> {
    return {[MOUNTS.gatewayTls]: this.gatewayTls.dir, [MOUNTS.gatewayTrust]: this.trust.dir}
  }

  clientMounts(cluster: string): Record<string, string> {
    const volume = this.clients.get(cluster)
    if (!volume) throw new Error(`no credentials issued for ${cluster}`)
    return {[MOUNTS.client]: volume.dir}
  }
}

/** What an OTLP/HTTP POST to the gateway got back (TLS failures included). */
export interface PostResult {
  status?: number
  body?: string
  error?: string
}

/**
 * POST OTLP/JSON to the gateway over HTTPS as a client would: with these credentials (or none),
 * checking the gateway against the federation root.
 */
export function postToGateway(url: string, body: unknown, credentials: {cert?: string; key?: string; caCert: string; token?: string}): Promise<PostResult> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body)
    const request = httpsRequest(
      url,
      {
        method: 'POST',
        ca: credentials.caCert,
        ...(credentials.cert ? {cert: credentials.cert, key: credentials.key} : {}),
        minVersion: 'TLSv1.2',
        headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...(credentials.token ? {Authorization: `Bearer ${credentials.token}`} : {})},
        agent: false,
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve({status: response.statusCode ?? 0, body: text}))
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => resolve({error: `${error.code ?? ''} ${error.message}`.trim()}))
    request.setTimeout(10_000, () => request.destroy(new Error('timeout')))
    request.end(data)
  })
}

/** What a TLS handshake with the gateway gave: the protocol, and whether the server kept it open. */
export interface TlsProbe {
  protocol?: string
  /** Serial number of the certificate the server presented (hex, upper case, as Node reports it). */
  serial?: string
  alpn?: string | false | null
  accepted: boolean
  error?: string
}

/**
 * Open a TLS connection as a client would (optionally without a certificate, or capped at TLS 1.2),
 * and watch it for `holdMs`: the server refuses a client certificate after the handshake in TLS 1.3
 * (an alert, then the connection closes), so "accepted" means still open after that.
 */
export function probeTls(
  address: string,
  credentials: {cert?: string; key?: string; caCert: string},
  options: {maxVersion?: 'TLSv1.2' | 'TLSv1.3'; alpn?: string[]; holdMs?: number} = {},
): Promise<TlsProbe> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return new Promise((resolve) => {
    let done = false
    const finish = (result: TlsProbe): void => {
      if (done) return
      done = true
      socket.destroy()
      resolve(result)
    }
    const socket = tlsConnect({
      host,
      port,
      ca: credentials.caCert,
      ...(credentials.cert ? {cert: credentials.cert, key: credentials.key} : {}),
      ...(options.maxVersion ? {maxVersion: options.maxVersion} : {}),
      ALPNProtocols: options.alpn ?? ['h2'],
    })
    socket.on('secureConnect', () => {
      const protocol = socket.getProtocol() ?? undefined
      const alpn = socket.alpnProtocol
      const serial = socket.getPeerCertificate()?.serialNumber
      // HTTP/2 clients speak first: a preface makes the server read (and so report) its verdict.
      if (alpn === 'h2') socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
      const seen = {...(protocol ? {protocol} : {}), ...(serial ? {serial} : {}), alpn}
      setTimeout(() => finish({...seen, accepted: true}), options.holdMs ?? 1500)
      socket.on('close', () => finish({...seen, accepted: false, error: 'closed by the server'}))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => finish({accepted: false, error: `${error.code ?? ''} ${error.message}`.trim()}))
    socket.setTimeout(10_000, () => finish({accepted: false, error: 'timeout'}))
  })
}

export {withMounts} from '../../src/sandbox/telemetry/mounts.js'
