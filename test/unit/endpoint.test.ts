import {describe, expect, it} from 'vitest'
import {formatEndpoint, normalizeEndpoint, parseEndpoint} from '../../src/federation/endpoint.js'
import {loadFederation} from '../../src/federation/load.js'
import {federationOverrides} from '../../src/federation/flags.js'
import {UsageError} from '../../src/lib/errors.js'
import {renderEdge} from '../../src/render/render.js'
import {EXAMPLE, configOf, find} from '../helpers/federation.js'

describe('a hub endpoint, read once', () => {
  it.each([
    // [written, host, port, normal form]
    ['203.0.113.7', '203.0.113.7', 4317, '203.0.113.7:4317'],
    ['203.0.113.7:4317', '203.0.113.7', 4317, '203.0.113.7:4317'],
    ['203.0.113.7:14317', '203.0.113.7', 14317, '203.0.113.7:14317'],
    ['https://203.0.113.7:443', '203.0.113.7', 443, '203.0.113.7:443'],
    ['2001:db8::1', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['2001:DB8::1', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['[2001:db8::1]', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['[2001:db8::1]:4317', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['[2001:db8::1]:9000', '2001:db8::1', 9000, '[2001:db8::1]:9000'],
    ['http://[2001:db8::1]:4317/', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['https://2001:db8::1', '2001:db8::1', 4317, '[2001:db8::1]:4317'],
    ['::ffff:203.0.113.7', '::ffff:203.0.113.7', 4317, '[::ffff:203.0.113.7]:4317'],
    ['otel.example.com', 'otel.example.com', 4317, 'otel.example.com:4317'],
    ['otel.example.com:4317', 'otel.example.com', 4317, 'otel.example.com:4317'],
    ['https://otel.example.com', 'otel.example.com', 4317, 'otel.example.com:4317'],
    ['grpc://otel.example.com:8443', 'otel.example.com', 8443, 'otel.example.com:8443'],
    ['  localhost:4317  ', 'localhost', 4317, 'localhost:4317'],
  ])('%s is host %s port %d, written %s', (written, host, port, normal) => {
    expect(parseEndpoint(written)).toEqual({host, port})
    expect(normalizeEndpoint(written)).toBe(normal)
  })

  it('never takes the last group of a bare IPv6 address for a port', () => {
    // 2001:db8::1:4317 is an IPv6 address of its own: a port needs brackets.
    expect(parseEndpoint('2001:db8::1:4317')).toEqual({host: '2001:db8::1:4317', port: 4317})
    expect(parseEndpoint('[2001:db8::1]:4317').host).toBe('2001:db8::1')
  })

  it('is idempotent: the normal form reads back as itself', () => {
    for (const text of ['203.0.113.7', '2001:db8::1', 'https://[2001:db8::1]:9000', 'otel.example.com']) {
      const once = normalizeEndpoint(text)
      expect(normalizeEndpoint(once)).toBe(once)
    }
  })

  it.each(['', 'host:0', 'host:65536', '[203.0.113.7]:4317', '[not-v6]', 'a b:4317', 'host:port'])('refuses %j', (text) => {
    expect(() => parseEndpoint(text)).toThrow(/not an endpoint/)
    expect(() => parseEndpoint(text)).toThrow(UsageError)
  })

  it('brackets IPv6 only when it writes an address', () => {
    expect(formatEndpoint({host: '2001:db8::7', port: 4318})).toBe('[2001:db8::7]:4318')
    expect(formatEndpoint({host: '203.0.113.7', port: 4318})).toBe('203.0.113.7:4318')
    expect(formatEndpoint({host: 'otel.example.com', port: 4318})).toBe('otel.example.com:4318')
  })
})

describe('an edge rendered with an IPv6 hub endpoint', () => {
  const render = (endpoint: string) => {
    const federation = loadFederation({file: EXAMPLE, overrides: federationOverrides({'hub-endpoint': endpoint})})
    return renderEdge(federation, 'fed-observability-remote', {hubEndpoint: normalizeEndpoint(federation.telemetry.gateway.endpoint!)})
  }

  it.each(['2001:db8::1', '[2001:db8::1]', '[2001:db8::1]:4317', 'https://[2001:db8::1]:4317'])('%s: the federation file accepts it and the collector dials [2001:db8::1]:4317', (endpoint) => {
    const rendering = render(endpoint)
    expect(rendering.hubEndpoint).toBe('[2001:db8::1]:4317')
    const agent = configOf(rendering.objects, 'otel-agent-config', 'config.yaml', 'observability')
    expect(agent.exporters['otlp_grpc/gateway'].endpoint).toBe('[2001:db8::1]:4317')
    expect(find(rendering.objects, 'ConfigMap', 'otel-agent-config', 'observability').metadata.annotations!['fedobs.io/hub-endpoint']).toBe('[2001:db8::1]:4317')
  })

  it('lets the edge egress reach that IPv6 address alone, on the endpoint port', () => {
    const rendering = render('[2001:db8::1]:9000')
    const egress = JSON.stringify(rendering.objects.filter((o) => o.kind === 'NetworkPolicy'))
    expect(egress).toContain('2001:db8::1/128')
    expect(egress).toContain('"port":9000')
  })
})
