import {describe, expect, it} from 'vitest'
import type {Federation} from '../../src/federation/model.js'
import {gatewaySources, renderEdge, renderHub} from '../../src/render/render.js'
import {toYamlStream} from '../../src/render/write.js'
import {configOf, exampleFederation, find, podSpec} from '../helpers/federation.js'

const federation = exampleFederation()
const EDGE = 'fed-observability-remote'
const hub = renderHub(federation)
const edge = renderEdge(federation, EDGE, {hubEndpoint: '172.238.181.107:4317'})
const plaintext: Federation = {...federation, security: {...federation.security, mtls: false}}

describe('mTLS by default: the gateway', () => {
  const gateway = configOf(hub.objects, 'otel-gateway-config', 'config.yaml')

  it.each(['grpc', 'http'])('requires TLS 1.3 and a client certificate from a trusted cluster CA on %s, reloaded without a restart', (protocol) => {
    const receiver = gateway.receivers.otlp.protocols[protocol]
    expect(receiver.tls).toEqual({
      cert_file: '/etc/otelcol/tls/tls.crt',
      key_file: '/etc/otelcol/tls/tls.key',
      reload_interval: '1m',
      client_ca_file: '/etc/otelcol/trust/client-cas.pem',
      client_ca_file_reload: true,
      min_version: '1.3',
    })
    expect(receiver.auth).toEqual({authenticator: 'oidc/federation'})
  })

  it("checks every request's identity token against the federation JWKS", () => {
    expect(gateway.extensions['oidc/federation']).toEqual({
      providers: [{issuer_url: 'https://fedobs.invalid/federations/fed-observability', audience: 'otel-gateway', public_keys_file: '/etc/otelcol/trust/jwks.json'}],
    })
    expect(gateway.service.extensions).toContain('oidc/federation')
  })

  it('takes cluster.id and cluster.role from the token in every pipeline, before anything else reads them', () => {
    expect(gateway.processors['resource/identity'].attributes).toEqual([
      {key: 'cluster.id', action: 'delete'},
      {key: 'cluster.id', from_context: 'auth.subject', action: 'upsert'},
      {key: 'cluster.role', action: 'delete'},
      {key: 'cluster.role', from_context: 'auth.claims.role', action: 'upsert'},
    ])
    for (const pipeline of Object.values<{processors: string[]}>(gateway.service.pipelines)) {
      expect(pipeline.processors.slice(0, 2)).toEqual(['memory_limiter', 'resource/identity'])
    }
  })

  it("closes gRPC connections after 10 minutes, so a revoked cluster's open connection ends", () => {
    expect(gateway.receivers.otlp.protocols.grpc.keepalive).toEqual({server_parameters: {max_connection_age: '10m', max_connection_age_grace: '30s'}})
  })

  it('mounts its certificate and trust Secrets read-only', () => {
    const spec = podSpec(find(hub.objects, 'StatefulSet', 'otel-gateway'))
    expect(spec.volumes).toContainEqual({name: 'tls', secret: {secretName: 'otel-gateway-tls', defaultMode: 0o440}})
    expect(spec.volumes).toContainEqual({name: 'trust', secret: {secretName: 'otel-gateway-trust', defaultMode: 0o440}})
    expect(spec.containers[0].volumeMounts).toContainEqual({name: 'tls', mountPath: '/etc/otelcol/tls', readOnly: true})
  })

  it('names the Secrets deploy hub creates, and renders no key', () => {
    expect(hub.secrets.map((s) => `${s.namespace}/${s.name}`).sort()).toEqual([
      'monitoring/grafana-admin',
      'observability-hub/otel-gateway-tls',
      'observability-hub/otel-gateway-trust',
      'observability/otel-gateway-client',
    ])
    expect(toYamlStream(hub.objects)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/)
    expect(hub.warnings.filter((w) => w.includes('mtls'))).toEqual([])
  })
})

describe('mTLS by default: agents and scrapers', () => {
  it.each([
    ['a connected edge', edge, '172.238.181.107:4317'],
    ['the hub', hub, 'otel-gateway.observability-hub.svc.cluster.local:4317'],
  ] as const)('%s ships with its client certificate and identity token', (_name, rendering, endpoint) => {
    for (const [configMap, workload, kind] of [
      ['otel-agent-config', 'otel-agent', 'DaemonSet'],
      ['otel-scraper-config', 'otel-scraper', 'Deployment'],
    ] as const) {
      const config = configOf(rendering.objects, configMap, 'config.yaml')
      const exporter = config.exporters['otlp_grpc/gateway']
      expect(exporter.endpoint).toBe(endpoint)
      expect(exporter.tls).toEqual({
        ca_file: '/etc/otelcol/gateway-client/ca.crt',
        cert_file: '/etc/otelcol/gateway-client/tls.crt',
        key_file: '/etc/otelcol/gateway-client/tls.key',
        reload_interval: '5m',
        min_version: '1.3',
      })
      expect(exporter.tls.insecure).toBeUndefined()
      expect(exporter.auth).toEqual({authenticator: 'bearertokenauth/gateway'})
      expect(config.extensions['bearertokenauth/gateway']).toEqual({filename: '/etc/otelcol/gateway-client/token'})
      expect(config.service.extensions).toContain('bearertokenauth/gateway')
      const spec = podSpec(find(rendering.objects, kind, workload))
      expect(spec.volumes).toContainEqual({name: 'gateway-client', secret: {secretName: 'otel-gateway-client', defaultMode: 0o440}})
      expect(spec.containers[0].volumeMounts).toContainEqual({name: 'gateway-client', mountPath: '/etc/otelcol/gateway-client', readOnly: true})
    }
  })

  it('an unconnected edge mounts no client Secret (it has none yet) and starts without one', () => {
    const unconnected = renderEdge(federation, EDGE)
    const agent = configOf(unconnected.objects, 'otel-agent-config', 'config.yaml')
    expect(agent.extensions['bearertokenauth/gateway']).toBeUndefined()
    expect(agent.service.extensions).not.toContain('bearertokenauth/gateway')
    expect(podSpec(find(unconnected.objects, 'DaemonSet', 'otel-agent')).volumes.map((v: {name: string}) => v.name)).not.toContain('gateway-client')
    expect(unconnected.secrets).toEqual([])
  })
})

describe('security.mtls: false (plaintext, warned)', () => {
  const hubPlain = renderHub(plaintext)
  const edgePlain = renderEdge(plaintext, EDGE, {hubEndpoint: '172.238.181.107:4317'})

  it('renders the gateway without TLS or auth, and warns', () => {
    const gateway = configOf(hubPlain.objects, 'otel-gateway-config', 'config.yaml')
    expect(gateway.receivers.otlp.protocols.grpc.tls).toBeUndefined()
    expect(gateway.receivers.otlp.protocols.http.auth).toBeUndefined()
    expect(gateway.extensions['oidc/federation']).toBeUndefined()
    expect(gateway.processors['resource/identity']).toBeUndefined()
    expect(gateway.service.pipelines.metrics.processors).toEqual(['memory_limiter', 'resource/hub'])
    expect(hubPlain.warnings.join('\n')).toMatch(/security\.mtls is off: the gateway accepts plaintext/)
    expect(hubPlain.secrets.map((s) => s.name)).toEqual(['grafana-admin'])
  })

  it('renders edges that export in plaintext, and warns', () => {
    const agent = configOf(edgePlain.objects, 'otel-agent-config', 'config.yaml')
    expect(agent.exporters['otlp_grpc/gateway'].tls).toEqual({insecure: true})
    expect(agent.exporters['otlp_grpc/gateway'].auth).toBeUndefined()
    expect(edgePlain.warnings.join('\n')).toMatch(/sends its telemetry in plaintext/)
  })
})

describe('who may reach the gateway', () => {
  const withSources = (allowedSources: string[]): Federation => ({...federation, telemetry: {...federation.telemetry, gateway: {...federation.telemetry.gateway, allowedSources}}})

  it('warns whenever the gateway is open to everyone', () => {
    for (const open of ['0.0.0.0/0', '::/0']) {
      const {warnings} = gatewaySources(withSources([open]), {[EDGE]: ['172.105.10.1/32']})
      expect(warnings.join('\n')).toMatch(/open to everyone/)
    }
  })

  it('names a federation edge the allow list does not let in', () => {
    const {cidrs, warnings} = gatewaySources(withSources(['203.0.113.0/24']), {})
    expect(cidrs).toEqual(['203.0.113.0/24'])
    expect(warnings).toEqual([expect.stringContaining(`does not let in ${EDGE}`)])
  })

  it('lets in nobody before any edge is connected, and says so', () => {
    const {cidrs, warnings} = gatewaySources(federation, {})
    expect(cidrs).toEqual([])
    expect(warnings.join('\n')).toMatch(/until then it admits nobody/)
  })

  it('is quiet when every edge is let in and nobody else', () => {
    expect(gatewaySources(federation, {[EDGE]: ['172.105.10.1/32', '172.105.10.2/32']})).toEqual({cidrs: ['172.105.10.1/32', '172.105.10.2/32'], warnings: []})
  })
})

describe('least privilege', () => {
  it('Grafana requires its admin Secret: it never starts with a default password', () => {
    const env = podSpec(find(hub.objects, 'Deployment', 'grafana')).containers[0].env
    const password = env.find((e: {name: string}) => e.name === 'GF_SECURITY_ADMIN_PASSWORD')
    expect(password.valueFrom.secretKeyRef).toEqual({name: 'grafana-admin', key: 'admin-password', optional: false})
    expect(env.find((e: {name: string}) => e.name === 'GF_AUTH_ANONYMOUS_ENABLED').value).toBe('false')
  })

  it('agents may read nodes/stats, never nodes/proxy', () => {
    const rules = (find(edge.objects, 'ClusterRole', 'otel-agent') as any).rules as Array<{resources: string[]}>
    const resources = rules.flatMap((r) => r.resources)
    expect(resources).toContain('nodes/stats')
    expect(resources).not.toContain('nodes/proxy')
    expect(resources.filter((r) => r.includes('secrets'))).toEqual([])
  })

  it('Prometheus has no lifecycle API and a size-based retention below its volume', () => {
    const args: string[] = podSpec(find(hub.objects, 'Deployment', 'prometheus')).containers[0].args
    expect(args).not.toContain('--web.enable-lifecycle')
    expect(args).toContain('--storage.tsdb.retention.size=43520MB') // 85% of the 50Gi PVC
    expect(args).toContain('--storage.tsdb.retention.time=15d')
  })

  it('the agent runs as root only to read the root-owned pod logs, with no capabilities and no escalation', () => {
    const container = podSpec(find(edge.objects, 'DaemonSet', 'otel-agent')).containers[0]
    expect(container.securityContext).toMatchObject({runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ['ALL']}})
    expect(container.volumeMounts).toContainEqual({name: 'varlogpods', mountPath: '/var/log/pods', readOnly: true})
  })

  it('the scraper and the gateway run as non-root', () => {
    for (const [kind, name, rendering] of [
      ['Deployment', 'otel-scraper', edge],
      ['StatefulSet', 'otel-gateway', hub],
    ] as const) {
      expect(podSpec(find(rendering.objects, kind, name)).securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 10001})
    }
  })
})

describe('PII scrubbed at every agent, on by default', () => {
  it.each([
    ['an edge', edge],
    ['the hub', hub],
  ] as const)('%s: logs and traces pass transform/pii before leaving the node; metrics do not', (_name, rendering) => {
    const agent = configOf(rendering.objects, 'otel-agent-config', 'config.yaml')
    expect(agent.processors['transform/pii']).toMatchObject({error_mode: 'ignore'})
    expect(agent.service.pipelines.logs.processors).toEqual(['memory_limiter', 'k8s_attributes', 'transform/pii', 'resource/cluster'])
    expect(agent.service.pipelines.traces.processors).toEqual(['memory_limiter', 'k8s_attributes', 'transform/pii', 'resource/cluster'])
    expect(agent.service.pipelines.metrics.processors).not.toContain('transform/pii')
    expect(podSpec(find(rendering.objects, 'DaemonSet', 'otel-agent')).containers[0].args).toContain('--feature-gates=ottl.functions.enableLambda')
  })

  it('is left out entirely when security.pii.enabled is false', () => {
    const off = renderEdge({...federation, security: {...federation.security, pii: {...federation.security.pii, enabled: false}}}, EDGE, {hubEndpoint: '172.238.181.107:4317'})
    const agent = configOf(off.objects, 'otel-agent-config', 'config.yaml')
    expect(agent.processors['transform/pii']).toBeUndefined()
    expect(agent.service.pipelines.logs.processors).toEqual(['memory_limiter', 'k8s_attributes', 'resource/cluster'])
    expect(podSpec(find(off.objects, 'DaemonSet', 'otel-agent')).containers[0].args).toEqual(['--config=/conf/config.yaml'])
  })
})
