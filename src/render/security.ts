/**
 * What mTLS and cluster identity add to the rendered collectors: TLS 1.3 with client certificates on
 * both gateway receivers, an identity token checked on every request, cluster.id / cluster.role taken
 * from that token, and on every agent and scraper a client certificate and token from a Secret.
 * The Secrets themselves are made by `fedobs deploy hub` and `fedobs connect` (src/services/pki.ts),
 * never rendered: keys do not belong in manifests.
 */
import {tokenIssuer} from '../federation/identity.js'
import type {Federation} from '../federation/model.js'

export const TLS_MIN_VERSION = '1.3'

/** Secret names (and the namespaces they live in). */
export const SECRETS = {
  /** observability-hub: the federation's CA (root and cluster CAs, token key, state). */
  pki: 'fedobs-pki',
  /** observability-hub: the gateway's server certificate and key (tls.crt, tls.key). */
  gatewayTls: 'otel-gateway-tls',
  /** observability-hub: client-cas.pem (cluster CAs not revoked) and jwks.json (token keys). */
  gatewayTrust: 'otel-gateway-trust',
  /** observability, in every cluster: tls.crt, tls.key, ca.crt (the federation root) and token. */
  client: 'otel-gateway-client',
  /** monitoring: Grafana's admin password (admin-password), required by Grafana. */
  grafanaAdmin: 'grafana-admin',
} as const

export const MOUNTS = {
  gatewayTls: '/etc/otelcol/tls',
  gatewayTrust: '/etc/otelcol/trust',
  client: '/etc/otelcol/gateway-client',
} as const

export const AUTH_EXTENSIONS = {gateway: 'oidc/federation', client: 'bearertokenauth/gateway'} as const
export const IDENTITY_PROCESSOR = 'resource/identity'

/** The gateway re-reads its certificate this often; the client-CA bundle on each new handshake. */
const SERVER_CERT_RELOAD = '1m'
/** Agents and scrapers re-read their client certificate this often (the token file on change). */
const CLIENT_CERT_RELOAD = '5m'
/**
 * gRPC connections are closed after this long and re-established, so that a revoked cluster's open
 * connection ends within it (the collector checks client certificates at the handshake only). The
 * cost is one TLS handshake per connection per period.
 */
export const MAX_CONNECTION_AGE = '10m'

/** Collector config fragments of the gateway; all undefined when mTLS is off. */
export function gatewaySecurity(federation: Federation): Record<string, unknown> {
  if (!federation.security.mtls) return {}
  const tls = {
    cert_file: `${MOUNTS.gatewayTls}/tls.crt`,
    key_file: `${MOUNTS.gatewayTls}/tls.key`,
    reload_interval: SERVER_CERT_RELOAD,
    client_ca_file: `${MOUNTS.gatewayTrust}/client-cas.pem`,
    client_ca_file_reload: true,
    min_version: TLS_MIN_VERSION,
  }
  return {
    tls,
    auth: {authenticator: AUTH_EXTENSIONS.gateway},
    keepalive: {server_parameters: {max_connection_age: MAX_CONNECTION_AGE, max_connection_age_grace: '30s'}},
    extension: {
      providers: [{issuer_url: tokenIssuer(federation.name), audience: 'otel-gateway', public_keys_file: `${MOUNTS.gatewayTrust}/jwks.json`}],
    },
    extensionName: AUTH_EXTENSIONS.gateway,
    // Whatever a sender claims, cluster.id and cluster.role are those of its token: delete, then
    // set from the authenticated request (so a request without auth data carries no identity).
    identityProcessor: {
      attributes: [
        {key: 'cluster.id', action: 'delete'},
        {key: 'cluster.id', from_context: 'auth.subject', action: 'upsert'},
        {key: 'cluster.role', action: 'delete'},
        {key: 'cluster.role', from_context: 'auth.claims.role', action: 'upsert'},
      ],
    },
    identityProcessorName: IDENTITY_PROCESSOR,
    volumes: {
      tls: {name: 'tls', secret: {secretName: SECRETS.gatewayTls, defaultMode: 0o440}},
      trust: {name: 'trust', secret: {secretName: SECRETS.gatewayTrust, defaultMode: 0o440}},
    },
    volumeMounts: {
      tls: {name: 'tls', mountPath: MOUNTS.gatewayTls, readOnly: true},
      trust: {name: 'trust', mountPath: MOUNTS.gatewayTrust, readOnly: true},
    },
  }
}

export interface ClientSecurity {
  tls: Record<string, unknown>
  auth?: Record<string, unknown>
  extension?: Record<string, unknown>
  extensionName?: string
  volume?: Record<string, unknown>
  volumeMount?: Record<string, unknown>
}

/** The exporter settings and Secret volume of a collector that ships to the gateway. */
export function clientSecurity(federation: Federation): ClientSecurity {
  if (!federation.security.mtls) return {tls: {insecure: true}}
  return {
    tls: {
      ca_file: `${MOUNTS.client}/ca.crt`,
      cert_file: `${MOUNTS.client}/tls.crt`,
      key_file: `${MOUNTS.client}/tls.key`,
      reload_interval: CLIENT_CERT_RELOAD,
      min_version: TLS_MIN_VERSION,
    },
    auth: {authenticator: AUTH_EXTENSIONS.client},
    extension: {filename: `${MOUNTS.client}/token`},
    extensionName: AUTH_EXTENSIONS.client,
    volume: {name: 'gateway-client', secret: {secretName: SECRETS.client, defaultMode: 0o440}},
    volumeMount: {name: 'gateway-client', mountPath: MOUNTS.client, readOnly: true},
  }
}
