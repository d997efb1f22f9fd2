import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/render/emit.js'
import {renderEdge, renderHub} from '../../src/render/render.js'
import {configOf, exampleFederation} from '../helpers/federation.js'
import {TestPki} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {discoverTargets, loopbackVariant, UNBACKED_TARGET, type LoopbackEndpoints} from './loopback.js'

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
  scrapeTargets: Object.fromEntries(['bert-inference', 'dcgm-exporter', 'kube-state-metrics', 'otel-gateway', 'prometheus'].map((job) => [job, [{targets: ['127.0.0.1:44001'], labels: {__meta_kubernetes_service_name: job}}]])),
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
 * Everything loopbackVariant may change, blanked out: what is left must be identical between the
 * rendered config and its variant (so the test runs the production pipelines).
 */
function withoutAllowedChanges(config: any): any {
  const copy = structuredClone(config)
  const blank = (node: any): any => {
    if (typeof node === 'string') {
      return node
        .replace(/(0\.0\.0\.0|127\.0\.0\.1|203\.0\.113\.7|\$\{env:K8S_NODE_IP\}|[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local):[0-9]+/g, 'ADDRESS')
        .replace(/^(\/var\/lib\/otelcol|\/tmp\/fedobs-test\/data)\/.*/, 'DIRECTORY')
        .replace(/^(\/var\/log\/pods|\/tmp\/fedobs-test\/pods)\//, 'PODLOGS/')
        .replace(/^(\/etc\/otelcol|\/tmp\/fedobs-test\/secrets)\/(tls|trust|gateway-client)\//, 'SECRET:$2/')
    }
    if (Array.isArray(node)) return node.map(blank)
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, blank(v)]))
    return node
  }
  delete copy.service?.telemetry?.metrics
  delete copy.processors?.k8s_attributes
  for (const pipeline of Object.values(copy.service?.pipelines ?? {}) as Array<{processors?: string[]}>) {
    if (pipeline.processors) pipeline.processors = pipeline.processors.filter((p) => p !== 'k8s_attributes')
  }
  if (copy.receivers?.kubelet_stats) delete copy.receivers.kubelet_stats.auth_type
  for (const job of copy.receivers?.prometheus?.config?.scrape_configs ?? []) {
    delete job.kubernetes_sd_configs
    delete job.static_configs
  }
  return blank(copy)
}

describe('loopbackVariant', () => {
  for (const [label, rendered] of CONFIGS) {
    it(`${label}: changes only addresses, ports, paths, discovery and k8s_attributes`, () => {
      const variant = loopbackVariant(rendered, ENDPOINTS)
      expect(withoutAllowedChanges(variant)).toEqual(withoutAllowedChanges(rendered))
      const text = JSON.stringify(variant)
      expect(text).not.toMatch(/0\.0\.0\.0|svc\.cluster\.local|\/var\/lib\/otelcol|\/var\/log\/pods|kubernetes_sd_configs|k8s_attributes/)
      expect(rendered).toEqual(configOf(label.startsWith('edge') ? edge : hub, `otel-${label.split(' ').at(-1)}-config`, 'config.yaml')) // not mutated
      // Every collector gets its self-metrics reader on its own loopback port.
      expect(variant.service.telemetry.metrics.readers).toEqual([{pull: {exporter: {prometheus: {host: '127.0.0.1', port: 41004}}}}])
    })
  }

  it('points kubelet_stats at the fake kubelet, keeping https and ${env:K8S_NODE_IP}', () => {
    const variant = loopbackVariant(configOf(edge, 'otel-agent-config', 'config.yaml'), ENDPOINTS)
    expect(variant.receivers.kubelet_stats).toMatchObject({auth_type: 'none', endpoint: 'https://${env:K8S_NODE_IP}:43001', insecure_skip_verify: true})
    expect(variant.receivers.file_log.include).toEqual(['/tmp/fedobs-test/pods/*/*/*.log'])
    expect(variant.extensions['file_storage/filelog'].directory).toBe('/tmp/fedobs-test/data/file_storage-filelog')
  })

  it('refuses to leave a Kubernetes address or listener unmapped', () => {
    const gateway = configOf(hub, 'otel-gateway-config', 'config.yaml')
    expect(() => loopbackVariant(gateway, {...ENDPOINTS, services: {}})).toThrow(/no loopback address for prometheus\.monitoring\.svc\.cluster\.local:9090/)
    expect(() => loopbackVariant(gateway, {...ENDPOINTS, ports: {4317: 1}})).toThrow(/no loopback port for container port 4318/)
    expect(() => loopbackVariant(configOf(hub, 'otel-scraper-config', 'config.yaml'), {...ENDPOINTS, scrapeTargets: {}})).toThrow(/no static targets for scrape job/)
  })

  it('discovers one target per Service port in the job\'s namespaces, as endpoints discovery would', () => {
    const scraper = configOf(hub, 'otel-scraper-config', 'config.yaml')
    const job = scraper.receivers.prometheus.config.scrape_configs.find((j: any) => j.job_name === 'otel-gateway')
    const targets = discoverTargets(job, hub, {'observability-hub/otel-gateway:metrics': {target: '127.0.0.1:45001', pod: 'otel-gateway-0', node: 'n1'}})
    // otel-gateway (4 ports), otel-gateway-headless (1), otel-gateway-external (2): the job's relabel_configs keep one.
    expect(targets).toHaveLength(7)
    expect(targets.filter((t) => t.targets[0] !== UNBACKED_TARGET)).toEqual([
      {
        targets: ['127.0.0.1:45001'],
        labels: {
          __meta_kubernetes_namespace: 'observability-hub',
          __meta_kubernetes_service_name: 'otel-gateway',
          __meta_kubernetes_endpoint_port_name: 'metrics',
          __meta_kubernetes_endpoint_ready: 'true',
          __meta_kubernetes_pod_name: 'otel-gateway-0',
          __meta_kubernetes_pod_node_name: 'n1',
        },
      },
    ])
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
        const env = {...process.env, POD_NAME: 'otel-gateway-0', K8S_NODE_IP: '127.0.0.1', K8S_NODE_NAME: 'n'}
        // The agent's rendered container turns on the feature gate its PII scrubber needs.
        const gates = label.endsWith('agent') ? ['--feature-gates=ottl.functions.enableLambda'] : []
        await expect(run(binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', ['validate', `--config=${file}`, ...gates], {env})).resolves.toBeDefined()
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  }
})
