import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {IMAGES} from '../../src/render/images.js'
import {LABELS, NAMESPACES, renderEdge, renderHub, type K8sObject} from '../../src/render/render.js'
import {configOf, containers, exampleFederation, find, podSpec} from '../helpers/federation.js'

const federation = exampleFederation()
const hub = renderHub(federation)
const edge = renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '172.238.181.107:4317'})
const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet'])

function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind))
}

describe.each([
  ['hub', hub.objects],
  ['edge', edge.objects],
])('every %s object', (_role, objects) => {
  it('carries the app.kubernetes.io labels with managed-by=fedobs', () => {
    for (const object of objects) {
      const labels = object.metadata.labels ?? {}
      expect(labels[LABELS.name], `${object.kind}/${object.metadata.name}`).toBeTruthy()
      expect(labels[LABELS.component], `${object.kind}/${object.metadata.name}`).toBeTruthy()
      expect(labels[LABELS.partOf]).toBe('fedobs')
      expect(labels[LABELS.managedBy]).toBe('fedobs')
    }
  })

  it('has pod templates labelled like their objects and matching their selectors', () => {
    for (const object of workloads(objects)) {
      const spec = object.spec as any
      const podLabels = spec.template.metadata.labels
      expect(podLabels[LABELS.managedBy]).toBe('fedobs')
      for (const [key, value] of Object.entries(spec.selector.matchLabels)) expect(podLabels[key]).toBe(value)
    }
  })

  it('sets requests and limits (cpu and memory) on every container', () => {
    for (const object of workloads(objects)) {
      for (const container of containers(object)) {
        const where = `${object.kind}/${object.metadata.name}/${container.name}`
        expect(container.resources?.requests?.cpu, where).toBeDefined()
        expect(container.resources?.requests?.memory, where).toBeDefined()
        expect(container.resources?.limits?.cpu, where).toBeDefined()
        expect(container.resources?.limits?.memory, where).toBeDefined()
      }
    }
  })

  it('uses only images pinned in one place (or the configured inference image)', () => {
    const allowed = new Set<string>([...Object.values(IMAGES), federation.inference.image!])
    for (const object of workloads(objects)) {
      for (const container of containers(object)) {
        expect(allowed.has(container.image), container.image).toBe(true)
        expect(container.image).toMatch(/:[^:/]+$/)
        expect(container.image).not.toMatch(/:latest$/)
      }
    }
  })

  it('gives every ServiceAccount-using workload its RBAC', () => {
    for (const object of workloads(objects)) {
      const account = podSpec(object).serviceAccountName
      if (!account) continue
      find(objects, 'ServiceAccount', account, object.metadata.namespace)
    }
  })

  it('is in apply order: namespaces first, then RBAC and config, workloads last', () => {
    const kinds = objects.map((o) => o.kind)
    expect(kinds[0]).toBe('Namespace')
    const lastConfig = kinds.lastIndexOf('ConfigMap')
    const firstWorkload = kinds.findIndex((k) => WORKLOAD_KINDS.has(k))
    expect(lastConfig).toBeLessThan(firstWorkload)
  })
})

describe('hub', () => {
  const objects = hub.objects

  it('creates the seed namespaces', () => {
    const names = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)
    expect(names).toEqual(expect.arrayContaining(['monitoring', 'observability', 'observability-hub', 'bert-inference']))
  })

  it('runs Prometheus 3 with the OTLP receiver, retention and a PVC', () => {
    const prometheus = find(objects, 'Deployment', 'prometheus', 'monitoring')
    const [container] = containers(prometheus)
    expect(container!.image).toBe(IMAGES.prometheus)
    expect(container!.args).toContain('--web.enable-otlp-receiver')
    expect(container!.args).toContain('--storage.tsdb.retention.time=15d')
    expect(podSpec(prometheus).volumes).toContainEqual({name: 'data', persistentVolumeClaim: {claimName: 'prometheus-data'}})
    find(objects, 'PersistentVolumeClaim', 'prometheus-data', 'monitoring')
    const config = configOf(objects, 'prometheus-config', 'prometheus.yml')
    expect(config.otlp.promote_resource_attributes).toEqual(expect.arrayContaining(['cluster.id', 'cluster.role', 'hub.received_at']))
    expect(config.storage.tsdb.out_of_order_time_window).toBe('2d')
  })

  it('makes cluster_id an index label in Loki', () => {
    const config = configOf(objects, 'loki-config', 'loki.yaml')
    const attributes = config.limits_config.otlp_config.resource_attributes.attributes_config[0]
    expect(attributes.action).toBe('index_label')
    expect(attributes.attributes).toContain('cluster.id')
    find(objects, 'StatefulSet', 'loki', 'monitoring')
    find(objects, 'StatefulSet', 'tempo', 'monitoring')
  })

  it('converts retention to a Go duration for Tempo', () => {
    expect(configOf(objects, 'tempo-config', 'tempo.yaml').compactor.compaction.block_retention).toBe('360h')
  })

  it('provisions Grafana datasources with fixed UIDs and the dashboard providers ConfigMap', () => {
    const datasources = configOf(objects, 'grafana-datasources', 'datasources.yaml').datasources as Array<{uid: string; type: string}>
    expect(datasources.map((d) => d.uid)).toEqual(['prometheus', 'loki', 'tempo'])
    const providers = configOf(objects, 'grafana-dashboard-providers', 'providers.yaml')
    expect(providers.providers[0].options.path).toBe('/var/lib/grafana/dashboards')
    const grafana = find(objects, 'Deployment', 'grafana', 'monitoring')
    const mounts = containers(grafana)[0]!.volumeMounts as Array<{mountPath: string}>
    expect(mounts.map((m) => m.mountPath)).toContain(providers.providers[0].options.path)
  })

  it('ships the four dashboards, referencing only provisioned datasource UIDs, well under the 1 MiB ConfigMap limit', () => {
    const data = (find(objects, 'ConfigMap', 'grafana-dashboards', 'monitoring') as any).data as Record<string, string>
    const overview = JSON.parse(data['federation-overview.json']!)
    expect(overview.uid).toBe('federation-overview')
    const uids = new Set<string>()
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        const record = node as Record<string, unknown>
        if (record.datasource && typeof record.datasource === 'object') uids.add((record.datasource as {uid: string}).uid)
        Object.values(record).forEach(walk)
      }
    }
    for (const text of Object.values(data)) walk(JSON.parse(text))
    expect([...uids].sort()).toEqual(expect.arrayContaining(['prometheus']))
    for (const uid of uids) expect(['prometheus', 'loki', 'tempo']).toContain(uid)
    expect(overview.panels.filter((p: {type: string}) => p.type !== 'row').length).toBeGreaterThanOrEqual(18)
    expect(Object.keys(data).sort()).toEqual(['bert-inference.json', 'federation-overview.json', 'gpu-health.json', 'k8s-resources.json'])
    // A ConfigMap holds at most 1 MiB; keep the four well inside it (room for more dashboards).
    expect(Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)).toBeLessThan(512 * 1024)
  })

  describe('OTel gateway', () => {
    const gateway = find(objects, 'StatefulSet', 'otel-gateway', NAMESPACES.hub)
    const config = configOf(objects, 'otel-gateway-config', 'config.yaml', NAMESPACES.hub)

    it('keeps its persistent queues on a PVC per replica, never an emptyDir', () => {
      const claim = (gateway.spec as any).volumeClaimTemplates[0]
      expect(claim.metadata.name).toBe('queue')
      expect(claim.spec.resources.requests.storage).toBe('10Gi')
      expect(JSON.stringify(podSpec(gateway).volumes)).not.toContain('emptyDir')
      const mount = containers(gateway)[0]!.volumeMounts as Array<{name: string; mountPath: string}>
      expect(mount).toContainEqual({name: 'queue', mountPath: config.extensions['file_storage/queue'].directory})
    })

    it('runs as non-root with fsGroup, no chmod 777 init container', () => {
      const spec = podSpec(gateway)
      expect(spec.securityContext.runAsNonRoot).toBe(true)
      expect(spec.securityContext.fsGroup).toBe(10001)
      expect(spec.initContainers).toBeUndefined()
      expect(JSON.stringify(gateway)).not.toContain('chmod')
    })

    it('queues every exporter on file_storage and fans out over OTLP to Prometheus, Loki and Tempo', () => {
      const exporters = config.exporters as Record<string, any>
      expect(Object.keys(exporters).sort()).toEqual(['otlp_http/loki', 'otlp_http/prometheus', 'otlp_http/tempo'])
      for (const exporter of Object.values(exporters)) {
        expect(exporter.sending_queue.enabled).toBe(true)
        expect(exporter.sending_queue.storage).toBe('file_storage/queue')
        expect(exporter.sending_queue.queue_size).toBe(5000)
      }
      expect(exporters['otlp_http/prometheus'].metrics_endpoint).toBe('http://prometheus.monitoring.svc.cluster.local:9090/api/v1/otlp/v1/metrics')
      expect(exporters['otlp_http/loki'].logs_endpoint).toBe('http://loki.monitoring.svc.cluster.local:3100/otlp/v1/logs')
      expect(exporters['otlp_http/tempo'].traces_endpoint).toBe('http://tempo.monitoring.svc.cluster.local:4318/v1/traces')
      expect(config.extensions['file_storage/queue'].create_directory).toBe(true)
      expect(config.service.extensions).toEqual(expect.arrayContaining(['health_check', 'file_storage/queue']))
      expect(JSON.stringify(config)).not.toContain('prometheusremotewrite')
      expect(JSON.stringify(config)).not.toMatch(/"loki":/)
    })

    it('stamps hub.received_at from the pod name', () => {
      expect(config.processors['resource/hub'].attributes).toContainEqual({key: 'hub.received_at', value: '${env:POD_NAME}', action: 'upsert'})
      const env = containers(gateway)[0]!.env!
      expect(env).toContainEqual({name: 'POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}})
      for (const pipeline of Object.values<{processors: string[]}>(config.service.pipelines)) {
        expect(pipeline.processors).toContain('resource/hub')
        expect(pipeline.processors).not.toContain('batch')
      }
    })

    it('has a health check probe, a ClusterIP service and a TCP LoadBalancer service', () => {
      expect((containers(gateway)[0] as any).readinessProbe.httpGet.port).toBe('health')
      expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133')
      const internal = find(objects, 'Service', 'otel-gateway', NAMESPACES.hub) as any
      expect(internal.spec.type).toBe('ClusterIP')
      expect(internal.spec.ports.map((p: {port: number}) => p.port)).toEqual([4317, 4318, 13133, 8888])
      const external = find(objects, 'Service', 'otel-gateway-external', NAMESPACES.hub) as any
      expect(external.spec.type).toBe('LoadBalancer')
      expect(external.metadata.annotations['service.beta.kubernetes.io/linode-loadbalancer-default-protocol']).toBe('tcp')
      expect(external.spec.ports.find((p: {port: number}) => p.port === 4317).protocol).toBe('TCP')
    })

    it('autoscales with an HPA and leaves replicas to it', () => {
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'otel-gateway', NAMESPACES.hub) as any
      expect(hpa.spec.scaleTargetRef).toEqual({apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'otel-gateway'})
      expect(hpa.spec.minReplicas).toBe(2)
      expect((gateway.spec as any).replicas).toBeUndefined()
    })

    it('sets replicas and no HPA when autoscaling is off', () => {
      const fixed = renderHub({
        ...federation,
        telemetry: {...federation.telemetry, gateway: {...federation.telemetry.gateway, replicas: 3, autoscaling: {...federation.telemetry.gateway.autoscaling, enabled: false}}},
      })
      expect((find(fixed.objects, 'StatefulSet', 'otel-gateway').spec as any).replicas).toBe(3)
      expect(fixed.objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false)
    })

    it('lets through its firewall exactly the edges recorded at connect and allowedSources; nobody before', () => {
      const aclOf = (rendering: ReturnType<typeof renderHub>): unknown =>
        JSON.parse((find(rendering.objects, 'Service', 'otel-gateway-external') as any).metadata.annotations['service.beta.kubernetes.io/linode-loadbalancer-firewall-acl'])
      expect(aclOf(hub)).toEqual({denyList: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}}) // the API refuses an empty allow list
      const guarded = renderHub(
        {...federation, telemetry: {...federation.telemetry, gateway: {...federation.telemetry.gateway, allowedSources: ['203.0.113.0/24', '198.51.100.7']}}},
        {edgeSources: {'fed-observability-remote': ['172.105.10.1', '2600:3c06::f03c:94ff:fe12:3456'], 'not-in-the-file': ['192.0.2.9/32']}},
      )
      expect(aclOf(guarded)).toEqual({allowList: {ipv4: ['172.105.10.1/32', '198.51.100.7/32', '203.0.113.0/24'], ipv6: ['2600:3c06::f03c:94ff:fe12:3456/128']}})
    })
  })

  it('runs its own agent and scraper into the local gateway, labelled as the hub', () => {
    const agent = configOf(objects, 'otel-agent-config', 'config.yaml')
    expect(agent.exporters['otlp_grpc/gateway'].endpoint).toBe('otel-gateway.observability-hub.svc.cluster.local:4317')
    expect(agent.processors['resource/cluster'].attributes).toContainEqual({key: 'cluster.id', value: 'fed-observability-test', action: 'upsert'})
    expect(agent.processors['resource/cluster'].attributes).toContainEqual({key: 'cluster.role', value: 'hub', action: 'upsert'})
    const scraper = configOf(objects, 'otel-scraper-config', 'config.yaml')
    const jobs = scraper.receivers.prometheus.config.scrape_configs.map((j: {job_name: string}) => j.job_name)
    expect(jobs.sort()).toEqual(['bert-inference', 'dcgm-exporter', 'kube-state-metrics', 'otel-gateway', 'prometheus'])
  })

  it('puts dcgm-exporter in monitoring on the hub (seed layout)', () => {
    find(objects, 'DaemonSet', 'dcgm-exporter', 'monitoring')
    find(objects, 'DaemonSet', 'nvidia-device-plugin-daemonset', 'kube-system')
  })

  it('renders the tagged Retain StorageClass every PVC uses', () => {
    const storageClass = find(objects, 'StorageClass', 'fedobs-block-storage') as any
    expect(storageClass.reclaimPolicy).toBe('Retain')
    expect(storageClass.parameters['linodebs.csi.linode.com/volumeTags']).toBe('fedobs,fedobs-federation:fed-observability,fedobs-cluster:fed-observability-test')
    for (const pvc of objects.filter((o) => o.kind === 'PersistentVolumeClaim')) expect((pvc.spec as any).storageClassName).toBe('fedobs-block-storage')
  })
})

describe('edge', () => {
  const objects = edge.objects
  const agentConfig = configOf(objects, 'otel-agent-config', 'config.yaml')

  it('has no hub backends and no monitoring namespace', () => {
    expect(objects.some((o) => o.metadata.namespace === 'monitoring' || o.metadata.name === 'monitoring')).toBe(false)
    expect(objects.some((o) => o.metadata.name === 'otel-gateway')).toBe(false)
  })

  it('runs the agent on every node with K8S_NODE_IP from status.hostIP', () => {
    const agent = find(objects, 'DaemonSet', 'otel-agent', 'observability')
    expect(podSpec(agent).tolerations).toContainEqual({operator: 'Exists'})
    expect(containers(agent)[0]!.env).toContainEqual({name: 'K8S_NODE_IP', valueFrom: {fieldRef: {fieldPath: 'status.hostIP'}}})
  })

  it('collects OTLP, kubelet stats at the node IP and pod logs', () => {
    expect(agentConfig.receivers.kubelet_stats.endpoint).toBe('https://${env:K8S_NODE_IP}:10250')
    expect(agentConfig.receivers.kubelet_stats.auth_type).toBe('serviceAccount')
    expect(agentConfig.receivers.file_log.include).toEqual(['/var/log/pods/*/*/*.log'])
    expect(agentConfig.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317')
  })

  it('labels every signal with cluster.id and cluster.role=edge in every pipeline', () => {
    expect(agentConfig.processors['resource/cluster'].attributes).toEqual([
      {key: 'cluster.id', value: 'fed-observability-remote', action: 'upsert'},
      {key: 'cluster.role', value: 'edge', action: 'upsert'},
    ])
    for (const pipeline of Object.values<{processors: string[]; exporters: string[]}>(agentConfig.service.pipelines)) {
      expect(pipeline.processors).toContain('resource/cluster')
      expect(pipeline.exporters).toEqual(['otlp_grpc/gateway'])
    }
  })

  it('exports to the hub gateway address given as a value, with a retrying queue', () => {
    const exporter = agentConfig.exporters['otlp_grpc/gateway']
    expect(exporter.endpoint).toBe('172.238.181.107:4317')
    expect(exporter.sending_queue.enabled).toBe(true)
    expect(exporter.retry_on_failure.max_elapsed_time).toBe('0s')
    const scraper = configOf(objects, 'otel-scraper-config', 'config.yaml')
    expect(scraper.exporters['otlp_grpc/gateway'].endpoint).toBe('172.238.181.107:4317')
  })

  it('scrapes BERT, dcgm-exporter and kube-state-metrics on a GPU edge', () => {
    const scraper = configOf(objects, 'otel-scraper-config', 'config.yaml')
    const jobs = scraper.receivers.prometheus.config.scrape_configs.map((j: {job_name: string}) => j.job_name)
    expect(jobs.sort()).toEqual(['bert-inference', 'dcgm-exporter', 'kube-state-metrics'])
    const dcgm = scraper.receivers.prometheus.config.scrape_configs.find((j: {job_name: string}) => j.job_name === 'dcgm-exporter')
    expect(dcgm.kubernetes_sd_configs[0].namespaces.names).toEqual(['observability'])
    find(objects, 'DaemonSet', 'dcgm-exporter', 'observability')
    find(objects, 'Deployment', 'kube-state-metrics', 'observability')
    find(objects, 'ClusterRole', 'kube-state-metrics')
  })

  it('schedules BERT on labelled GPU nodes and limits it to its GPUs', () => {
    const bert = find(objects, 'Deployment', 'bert-inference', 'bert-inference')
    expect(podSpec(bert).nodeSelector).toEqual({'nvidia.com/gpu.present': 'true'})
    expect(containers(bert)[0]!.resources!.limits!['nvidia.com/gpu']).toBe('1')
    expect(containers(bert)[0]!.image).toBe('brianapley/bert-inference:gpu-v2')
  })

  it('pins the NVIDIA device plugin to the GPU pool types', () => {
    const plugin = find(objects, 'DaemonSet', 'nvidia-device-plugin-daemonset', 'kube-system')
    const term = podSpec(plugin).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
    expect(term.matchExpressions[0]).toEqual({key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['g2-gpu-rtx4000a1-s']})
  })

  it('leaves out GPU parts on a cluster without GPUs', () => {
    const plain = {...federation, edges: [{...federation.edges[0]!, gpu: false, pools: [{type: 'g6-standard-2', count: 2}]}]}
    const rendered = renderEdge(plain, 'fed-observability-remote', {hubEndpoint: '10.0.0.1:4317'})
    const names = rendered.objects.map((o) => o.metadata.name)
    expect(names).not.toContain('dcgm-exporter')
    expect(names).not.toContain('nvidia-device-plugin-daemonset')
    expect(names).not.toContain('bert-inference')
    const scraper = configOf(rendered.objects, 'otel-scraper-config', 'config.yaml')
    expect(scraper.receivers.prometheus.config.scrape_configs.map((j: {job_name: string}) => j.job_name)).toEqual(['kube-state-metrics'])
  })

  it('renders an unconnected edge with a debug exporter and says so in an annotation', () => {
    const unconnected = renderEdge(federation, 'fed-observability-remote')
    const config = configOf(unconnected.objects, 'otel-agent-config', 'config.yaml')
    expect(Object.keys(config.exporters)).toEqual(['debug/unconnected'])
    expect(find(unconnected.objects, 'ConfigMap', 'otel-agent-config').metadata.annotations!['fedobs.io/hub-endpoint']).toBe('')
    expect(unconnected.hubEndpoint).toBeUndefined()
  })

  it('rolls pods when their configuration changes (config hash on the pod template)', () => {
    const other = renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '203.0.113.9:4317'})
    const hash = (objects: K8sObject[]): string => (find(objects, 'DaemonSet', 'otel-agent').spec as any).template.metadata.annotations['fedobs.io/config-hash']
    expect(hash(objects)).toMatch(/^[0-9a-f]{16}$/)
    expect(hash(other.objects)).not.toBe(hash(objects))
    expect(hash(renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '172.238.181.107:4317'}).objects)).toBe(hash(objects))
  })
})

describe('renderer safety with hostile names and addresses', () => {
  const hostile = ['a"b', 'x: y', 'x # y', 'line\nkind: Secret', '{{ evil }}', '${{ cluster.id }}', 'a"b})']
  for (const name of hostile) {
    it(`a cluster named ${JSON.stringify(name)} and an endpoint like it change no structure`, () => {
      const bad = {...federation, edges: [{...federation.edges[0]!, name}]}
      const rendered = renderEdge(bad, name, {hubEndpoint: `${name}:4317`})
      expect(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(edge.objects.map((o) => `${o.kind}/${o.metadata.name}`))
      const config = configOf(rendered.objects, 'otel-agent-config', 'config.yaml')
      expect(Object.keys(config)).toEqual(Object.keys(agentKeys()))
      expect(config.processors['resource/cluster'].attributes[0].value).toBe(name)
      expect(config.exporters['otlp_grpc/gateway'].endpoint).toBe(`${name}:4317`)
      for (const object of rendered.objects) expect(object.metadata.labels!['fedobs.io/cluster']).toBe(name)
    })
  }
  function agentKeys(): Record<string, unknown> {
    return parse((find(edge.objects, 'ConfigMap', 'otel-agent-config') as any).data['config.yaml'])
  }
})
