import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {beforeAll, describe, expect, it} from 'vitest'
import {createRootCa} from '../../src/pki/x509.js'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {renderEdge, renderHub} from '../../src/render/render.js'
import {configOf, exampleFederation} from '../helpers/federation.js'
import {TestPki} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {asPodCommand, writeServiceAccount} from '../../src/sandbox/telemetry/kube.js'
import {loopbackVariant, type LoopbackEndpoints} from '../../src/sandbox/telemetry/loopback.js'

const federation = exampleFederation()
const hub = renderHub(federation).objects
const edge = renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '203.0.113.7:4317'}).objects

const ENDPOINTS: LoopbackEndpoints = {
  ports: {4317: 41001, 4318: 41002, 13133: 41003, 8888: 41004},
  services: {
    'otel-gateway.observability-hub.svc.cluster.local:4317': '127.0.0.1:42001',
    'prometheus.monitoring.svc.cluster.local:9090': '127.0.0.1:42002',
    'loki.monitoring.svc.cluster.local:3100': '127.0.0.1:42003',
    'tempo.monitoring.svc.cluster.local:4318': '127.0.0.1:42004',
  },
  dataDir: '/tmp/fedobs-test/data',
  podLogDir: '/tmp/fedobs-test/pods',
  kubeletPort: 43001,
  mounts: {
    '/etc/otelcol/tls': '/tmp/fedobs-test/secrets/tls',
    '/etc/otelcol/trust': '/tmp/fedobs-test/secrets/trust',
    '/etc/otelcol/gateway-client': '/tmp/fedobs-test/secrets/gateway-client',
  },
}

const CONFIGS: Array<[string, any]> = [
  ['gateway', configOf(hub, 'otel-gateway-config', 'config.yaml')],
  ['hub agent', configOf(hub, 'otel-agent-config', 'config.yaml')],
  ['hub scraper', configOf(hub, 'otel-scraper-config', 'config.yaml')],
  ['edge agent', configOf(edge, 'otel-agent-config', 'config.yaml')],
  ['edge scraper', configOf(edge, 'otel-scraper-config', 'config.yaml')],
]

/**
 * Every leaf path where two configs differ ("receivers.otlp.protocols.grpc.endpoint",
 * "service.telemetry.metrics" when one side lacks it), in order: the guard compares this list
 * with the paths loopbackVariant is allowed to change, so any other divergence fails.
 */
function differingPaths(a: unknown, b: unknown, at = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object'
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    return keys.flatMap((k) => (k in a && k in b ? differingPaths(a[k], b[k], at ? `${at}.${k}` : k) : [at ? `${at}.${k}` : k]))
  }
  return Object.is(a, b) ? [] : [at]
}

/** Paths loopbackVariant may change, per collector; everything else must stay deep-equal. */
const SECRETS_OF_CLIENT = [
  'exporters.otlp_grpc/gateway.tls.ca_file',
  'exporters.otlp_grpc/gateway.tls.cert_file',
  'exporters.otlp_grpc/gateway.tls.key_file',
  'extensions.bearertokenauth/gateway.filename',
]
/** The agents' and scrapers' disk queue (a hostPath or PVC in a cluster; a temp directory here). */
const QUEUE = ['extensions.file_storage/queue.directory', 'extensions.file_storage/queue.compaction.directory']
/** The self-metrics reader (localhost:8888 in a pod) and the collector's scrape of it (job otel-collector). */
const SELF_METRICS = [
  'service.telemetry.metrics.readers.0.pull.exporter.prometheus.host',
  'service.telemetry.metrics.readers.0.pull.exporter.prometheus.port',
  'receivers.prometheus/self.config.scrape_configs.0.static_configs.0.targets.0',
]
const AGENT = [
  'extensions.health_check.endpoint',
  'receivers.otlp.protocols.grpc.endpoint',
  'receivers.otlp.protocols.http.endpoint',
  'extensions.file_storage/filelog.directory',
  'receivers.kubelet_stats.endpoint',
  'receivers.file_log.include.0',
  'receivers.file_log.exclude.0',
  ...SELF_METRICS,
  ...SECRETS_OF_CLIENT,
  ...QUEUE,
]
const SCRAPER = ['extensions.health_check.endpoint', ...SELF_METRICS, ...SECRETS_OF_CLIENT, ...QUEUE]
const ALLOWED: Record<string, string[]> = {
  gateway: [
    'extensions.health_check.endpoint',
    'receivers.otlp.protocols.grpc.endpoint',
    'receivers.otlp.protocols.http.endpoint',
    'extensions.file_storage/queue.directory',
    'extensions.file_storage/queue.compaction.directory',
    'exporters.otlp_http/prometheus.metrics_endpoint',
    'exporters.otlp_http/loki.logs_endpoint',
    'exporters.otlp_http/tempo.traces_endpoint',
    'service.telemetry.metrics.readers.0.pull.exporter.prometheus.host',
    'service.telemetry.metrics.readers.0.pull.exporter.prometheus.port',
    'receivers.otlp.protocols.grpc.tls.cert_file',
    'receivers.otlp.protocols.grpc.tls.key_file',
    'receivers.otlp.protocols.grpc.tls.client_ca_file',
    'receivers.otlp.protocols.http.tls.cert_file',
    'receivers.otlp.protocols.http.tls.key_file',
    'receivers.otlp.protocols.http.tls.client_ca_file',
    'extensions.oidc/federation.providers.0.public_keys_file',
  ],
  // The hub's own collectors ship to the gateway's Service name, which becomes its loopback address.
  'hub agent': [...AGENT, 'exporters.otlp_grpc/gateway.endpoint'],
  'hub scraper': [...SCRAPER, 'exporters.otlp_grpc/gateway.endpoint'],
  // The edge ships to the hub's public endpoint as rendered (the pipeline renders it with the gateway's address).
  'edge agent': AGENT,
  'edge scraper': SCRAPER,
}

describe('loopbackVariant', () => {
  for (const [label, rendered] of CONFIGS) {
    it(`${label}: differs from the rendered config exactly at the enumerated paths`, () => {
      const variant = loopbackVariant(rendered, ENDPOINTS)
      expect(differingPaths(rendered, variant).sort()).toEqual([...ALLOWED[label]!].sort())
      expect(rendered).toEqual(configOf(label.startsWith('edge') ? edge : hub, `otel-${label.split(' ').at(-1)}-config`, 'config.yaml')) // not mutated
      // Every collector gets its self-metrics reader on its own loopback port.
      expect(variant.service.telemetry.metrics).toEqual({...rendered.service.telemetry.metrics, readers: [{pull: {exporter: {prometheus: {host: '127.0.0.1', port: 41004}}}}]})
      if (label !== 'gateway') {
        // ... and agents and scrapers scrape that reader, on that port, as job otel-collector.
        expect(rendered.receivers['prometheus/self'].config.scrape_configs[0]).toMatchObject({job_name: 'otel-collector', static_configs: [{targets: ['localhost:8888']}]})
        expect(variant.receivers['prometheus/self'].config.scrape_configs[0].static_configs).toEqual([{targets: ['127.0.0.1:41004']}])
      }
      // What changed is an address, port or path, and no cluster-only one is left.
      const text = JSON.stringify(variant)
      expect(text).not.toMatch(/0\.0\.0\.0|svc\.cluster\.local|\/var\/lib\/otelcol|\/var\/log\/pods|\/etc\/otelcol/)
    })
  }

  it('keeps k8s_attributes in every agent pipeline it is rendered in, and Kubernetes discovery in every scrape job', () => {
    for (const [label, rendered] of CONFIGS.filter(([l]) => l.endsWith('agent'))) {
      const variant = loopbackVariant(rendered, ENDPOINTS)
      const withProcessor = Object.entries(variant.service.pipelines as Record<string, {processors: string[]}>)
        .filter(([, p]) => p.processors.includes('k8s_attributes'))
        .map(([name]) => name)
      expect(withProcessor, label).toEqual(['metrics', 'logs', 'traces'])
      expect(variant.processors.k8s_attributes).toMatchObject({auth_type: 'serviceAccount', filter: {node_from_env_var: 'K8S_NODE_NAME'}})
      expect(variant.receivers.kubelet_stats.auth_type).toBe('serviceAccount')
    }
    for (const [label, rendered] of CONFIGS.filter(([l]) => l.endsWith('scraper'))) {
      for (const job of loopbackVariant(rendered, ENDPOINTS).receivers.prometheus.config.scrape_configs) {
        expect(job.kubernetes_sd_configs, `${label} ${job.job_name}`).toEqual([expect.objectContaining({role: 'endpoints'})])
        expect(job.static_configs).toBeUndefined()
      }
    }
  })

  it('fails the guard when a config differs anywhere else', () => {
    const agent = configOf(edge, 'otel-agent-config', 'config.yaml')
    const tampered = loopbackVariant(agent, ENDPOINTS)
    tampered.processors.k8s_attributes.extract.metadata.pop()
    tampered.service.pipelines.logs.processors = tampered.service.pipelines.logs.processors.filter((p: string) => p !== 'k8s_attributes')
    expect(differingPaths(agent, tampered).filter((p) => !ALLOWED['edge agent']!.includes(p))).toEqual([
      'processors.k8s_attributes.extract.metadata.6',
      'service.pipelines.logs.processors.1',
      'service.pipelines.logs.processors.2',
      'service.pipelines.logs.processors.3',
    ])
  })

  it('points kubelet_stats at the fake kubelet, keeping https and ${env:K8S_NODE_IP}', () => {
    const variant = loopbackVariant(configOf(edge, 'otel-agent-config', 'config.yaml'), ENDPOINTS)
    expect(variant.receivers.kubelet_stats).toMatchObject({auth_type: 'serviceAccount', endpoint: 'https://${env:K8S_NODE_IP}:43001', insecure_skip_verify: true})
    expect(variant.receivers.file_log.include).toEqual(['/tmp/fedobs-test/pods/*/*/*.log'])
    expect(variant.extensions['file_storage/filelog'].directory).toBe('/tmp/fedobs-test/data/file_storage-filelog')
  })

  it('refuses to leave a Kubernetes address or listener unmapped', () => {
    const gateway = configOf(hub, 'otel-gateway-config', 'config.yaml')
    expect(() => loopbackVariant(gateway, {...ENDPOINTS, services: {}})).toThrow(/no loopback address for prometheus\.monitoring\.svc\.cluster\.local:9090/)
    expect(() => loopbackVariant(gateway, {...ENDPOINTS, ports: {4317: 1}})).toThrow(/no loopback port for container port 4318/)
  })
})

const binaries = requireBinaries(['FEDOBS_OTELCOL'])
const run = promisify(execFile)

describe.skipIf(!binaries.ok)('loopback variants on the real collector', () => {
  let pki: TestPki
  beforeAll(async () => {
    pki = await TestPki.create(mkdtempSync(path.join(tmpdir(), 'fedobs-loopback-pki-')), federation.name, {
      gatewayAddresses: ['127.0.0.1'],
      clusters: [
        {name: federation.hub.name, role: 'hub'},
        {name: 'fed-observability-remote', role: 'edge'},
      ],
    })
  })

  for (const [label, rendered] of CONFIGS) {
    it(`${label} variant passes otelcol validate`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-loopback-'))
      try {
        const file = path.join(dir, 'config.yaml')
        const mounts = label === 'gateway' ? pki.gatewayMounts() : pki.clientMounts(label.startsWith('hub') ? federation.hub.name : 'fed-observability-remote')
        writeFileSync(file, emitYaml(loopbackVariant(rendered, {...ENDPOINTS, dataDir: dir, podLogDir: dir, mounts})))
        // As a pod: in-cluster API server address and a service-account volume (validate builds
        // kubelet_stats, which reads its ca.crt; nothing connects).
        const env = {
          ...process.env,
          POD_NAME: 'otel-gateway-0',
          K8S_NODE_IP: '127.0.0.1',
          K8S_NODE_NAME: 'n',
          K8S_POD_NAME: 'otel-agent-x',
          K8S_POD_NAMESPACE: 'observability',
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: '1',
        }
        const serviceAccount = writeServiceAccount(path.join(dir, 'run'), {
          token: 'not-checked',
          ca: (await createRootCa('test-bed API server CA', 'fedobs test bed', 1)).cert,
          namespace: 'observability',
        })
        // The agent's rendered container turns on the feature gate its PII scrubber needs.
        const gates = label.endsWith('agent') ? ['--feature-gates=ottl.functions.enableLambda'] : []
        const pod = asPodCommand(serviceAccount, binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', ['validate', `--config=${file}`, ...gates])
        await expect(run(pod.command, pod.args, {env})).resolves.toBeDefined()
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  }
})
