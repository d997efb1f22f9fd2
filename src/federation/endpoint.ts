import {isIP} from 'node:net'
import {UsageError} from '../lib/errors.js'

/** The hub gateway's OTLP/gRPC port: an endpoint without a port means this one. */
export const OTLP_GRPC_PORT = 4317

export interface Endpoint {
  /** A host name, an IPv4 address, or an IPv6 address without brackets. */
  host: string
  port: number
}

/**
 * The one reading of a hub endpoint, wherever it comes from (the federation file, --hub-endpoint,
 * the gateway LoadBalancer's address, the annotation an edge carries): `host`, `host:port`,
 * `[IPv6]`, `[IPv6]:port` or a bare IPv6 address, optionally behind a scheme (`https://`, which the
 * collector does not need: TLS follows security.mtls). A bare IPv6 address never carries a port
 * (`2001:db8::1:4317` is an address of its own): write `[2001:db8::1]:4317` for one.
 */
export function parseEndpoint(text: string, defaultPort = OTLP_GRPC_PORT): Endpoint {
  const bare = text
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '')
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(bare)
  if (bracketed) {
    if (isIP(bracketed[1]!) !== 6) throw invalid(text, `[${bracketed[1]}] is not an IPv6 address`)
    return {host: bracketed[1]!.toLowerCase(), port: portOf(bracketed[2], defaultPort, text)}
  }
  if (isIP(bare) === 6) return {host: bare.toLowerCase(), port: defaultPort}
  const hostPort = /^([^:[\]\s/]+)(?::(\d+))?$/.exec(bare)
  if (!hostPort) throw invalid(text, 'expected host, host:port, [IPv6]:port or an IPv6 address')
  return {host: hostPort[1]!, port: portOf(hostPort[2], defaultPort, text)}
}

function invalid(text: string, why: string): UsageError {
  return new UsageError(`"${text}" is not an endpoint: ${why}`, {hint: 'For example 203.0.113.7:4317, [2001:db8::1]:4317 or otel.example.com.', code: 'bad-endpoint'})
}

function portOf(digits: string | undefined, defaultPort: number, text: string): number {
  if (digits === undefined) return defaultPort
  const port = Number(digits)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw invalid(text, `port ${digits} is out of range`)
  return port
}

/** `host:port`, with an IPv6 address in brackets (what gRPC and the collector expect). */
export function formatEndpoint({host, port}: Endpoint): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`
}

/** An endpoint in its one written form: `host:port` or `[IPv6]:port` (port 4317 unless given). */
export function normalizeEndpoint(text: string, defaultPort = OTLP_GRPC_PORT): string {
  return formatEndpoint(parseEndpoint(text, defaultPort))
}
