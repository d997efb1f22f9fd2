/**
 * loopbackVariant: the collector configs fedobs renders, changed only where a cluster and one
 * loopback-only machine differ (listen addresses, Service names, ports, paths), so that the test
 * runs the very pipelines that production runs. Every change is listed and explained here; the
 * rest of the config (receivers, processors incl. k8s_attributes, their order, batch sizes,
 * queues, retries, Kubernetes discovery and relabelling, auth types) is left exactly as rendered;
 * loopback.test.ts enumerates every path that may differ.
 */
import {withMounts} from './mounts.js'

export interface LoopbackEndpoints {
  /** Container port → loopback port, for every listener (0.0.0.0:PORT) and the self-metrics port 8888 (its reader and the scrape target localhost:8888). */
  ports: Record<number, number>
  /** Cluster DNS "name.ns.svc.cluster.local:port" → "127.0.0.1:port", for exporter endpoints. */
  services?: Record<string, string>
  /** Directory under which each file_storage extension gets its own directory. */
  dataDir: string
  /** Replaces /var/log/pods in file_log include/exclude. */
  podLogDir?: string
  /** Port of the fake kubelet (HTTPS) for kubelet_stats. */
  kubeletPort?: number
  /** Secret mount path (e.g. /etc/otelcol/tls) → local directory holding the same files. */
  mounts?: Record<string, string>
  /** Exporter endpoints outside the cluster ("203.0.113.7:4317", a LoadBalancer's address) → "127.0.0.1:port". */
  external?: Record<string, string>
  /**
   * Keep the name each exporter verifies the server certificate for: a rewritten endpoint gets
   * tls.server_name_override = the host it had (the sandbox, whose gateway certificate is the one
   * `fedobs deploy hub` issued for the cluster's names and addresses, not for 127.0.0.1).
   */
  keepServerName?: boolean
}

const LISTENER = /^0\.0\.0\.0:([0-9]+)$/
const CLUSTER_DNS = /[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:[0-9]+/g
const SELF_METRICS_PORT = 8888
const SELF_METRICS_TARGET = `localhost:${SELF_METRICS_PORT}`

export function loopbackVariant(config: any, endpoints: LoopbackEndpoints): any {
  const copy = structuredClone(config)
  const port = (p: number): number => {
    const mapped = endpoints.ports[p]
    if (mapped === undefined) throw new Error(`loopbackVariant: no loopback port for container port ${p}`)
    return mapped
  }

  // 1. Listeners: a pod has its own network namespace, so every collector binds 0.0.0.0:4317,
  //    :4318, :13133. Here they share one host, and only loopback is allowed: each listener
  //    becomes 127.0.0.1 with its own free port.
  for (const section of ['receivers', 'extensions'] as const) {
    rewriteStrings(copy[section], (value) => {
      const m = LISTENER.exec(value)
      return m ? `127.0.0.1:${port(Number(m[1]))}` : value
    })
  }

  // 2. Self-metrics: the gateway's pull reader binds 0.0.0.0:8888, and agents and scrapers get the
  //    collector's default reader on localhost:8888 (one per pod, explicit in their config). On one host a second collector
  //    cannot bind 8888 and exits, so each gets the same reader on its own loopback port.
  const metrics = (((copy.service ??= {}).telemetry ??= {}).metrics ??= {})
  if (metrics.level !== 'none') {
    metrics.readers ??= [{pull: {exporter: {prometheus: {host: 'localhost', port: SELF_METRICS_PORT}}}}]
    for (const reader of metrics.readers as Array<{pull?: {exporter?: {prometheus?: {host?: string; port?: number}}}}>) {
      const prometheus = reader.pull?.exporter?.prometheus
      if (prometheus) Object.assign(prometheus, {host: '127.0.0.1', port: port(prometheus.port ?? SELF_METRICS_PORT)})
    }
  }
  //    The collector scrapes its own reader (a static target localhost:8888, job otel-collector):
  //    that target follows the reader to the same loopback port. Only this exact target changes.
  for (const receiver of Object.values<any>(copy.receivers ?? {})) {
    for (const job of receiver?.config?.scrape_configs ?? []) {
      for (const group of job.static_configs ?? []) {
        if (!Array.isArray(group.targets)) continue
        group.targets = group.targets.map((target: string) => (target === SELF_METRICS_TARGET ? `127.0.0.1:${port(SELF_METRICS_PORT)}` : target))
      }
    }
  }

  // 3. Exporters: Kubernetes Service names (otel-gateway.observability-hub.svc..., prometheus.
  //    monitoring.svc...) do not resolve here; each becomes the loopback address of the process
  //    or fake that stands in for the Service. An unmapped one is an error, never left to fail later.
  for (const exporter of Object.values<any>(copy.exporters ?? {})) {
    if (!exporter || typeof exporter !== 'object') continue
    let original: string | undefined
    rewriteStrings(exporter, (value) => {
      const external = endpoints.external?.[value]
      if (external) {
        original = value
        return external
      }
      return value.replace(CLUSTER_DNS, (host) => {
        const mapped = endpoints.services?.[host]
        if (!mapped) throw new Error(`loopbackVariant: no loopback address for ${host}`)
        original = host
        return mapped
      })
    })
    if (endpoints.keepServerName && original && exporter.tls && !exporter.tls.insecure) {
      const host = original
        .replace(/^[a-z]+:\/\//, '')
        .replace(/:[0-9]+(\/.*)?$/, '')
        .replace(/^\[(.*)\]$/, '$1')
      exporter.tls.server_name_override ??= host
    }
  }

  // 4. Storage: file_storage directories are PVCs or hostPaths under /var/lib/otelcol in a
  //    cluster; here each collector gets its own temp directory (same compaction settings).
  for (const [name, extension] of Object.entries<any>(copy.extensions ?? {})) {
    if (!name.startsWith('file_storage')) continue
    extension.directory = `${endpoints.dataDir}/${name.replace('/', '-')}`
    if (extension.compaction) extension.compaction.directory = extension.directory
  }

  // 5. Pod logs: the agent tails /var/log/pods (a hostPath); here a temp directory with the same
  //    <namespace>_<pod>_<uid>/<container>/<n>.log layout, so the container parser still derives
  //    k8s.namespace.name, k8s.pod.name and k8s.container.name from the path.
  const fileLog = copy.receivers?.file_log
  if (fileLog && endpoints.podLogDir) {
    const move = (p: string): string => p.replace(/^\/var\/log\/pods\//, `${endpoints.podLogDir}/`)
    fileLog.include = (fileLog.include ?? []).map(move)
    if (fileLog.exclude) fileLog.exclude = fileLog.exclude.map(move)
  }

  // 6. Kubelet: the endpoint keeps https and ${env:K8S_NODE_IP} (127.0.0.1 here), only the port
  //    changes to the fake kubelet's (10250 is privileged and shared by every node of the host).
  //    auth_type stays serviceAccount: the harness gives the agent a service-account token
  //    (kube.ts), so the receiver reads it from the same path as in a pod.
  const kubelet = copy.receivers?.kubelet_stats
  if (kubelet) {
    if (endpoints.kubeletPort === undefined) throw new Error('loopbackVariant: kubelet_stats needs kubeletPort')
    kubelet.endpoint = String(kubelet.endpoint).replace(/:10250$/, `:${endpoints.kubeletPort}`)
  }

  // k8s_attributes and kubernetes_sd_configs stay as rendered: the collectors run as pods of a
  // test-bed API server (in-cluster credentials of the rendered ServiceAccounts, kwok pods whose
  // IPs are the 127.x addresses the sources bind), see kube.ts.

  // 7. Secrets: certificates, keys, trust bundles and identity tokens are Secret volumes mounted
  //    under /etc/otelcol/<name> in a pod; here each is a local directory laid out the same way
  //    (test/helpers/pki.ts, kubelet atomic-writer layout), so reloads behave as in a pod. Only the
  //    directory part of each path changes; an unmapped mount is an error.
  try {
    return withMounts(copy, endpoints.mounts ?? {})
  } catch (error) {
    throw new Error(`loopbackVariant: ${(error as Error).message}`, {cause: error})
  }
}

function rewriteStrings(node: any, rewrite: (value: string) => string): void {
  if (!node || typeof node !== 'object') return
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'string') node[key] = rewrite(value)
    else rewriteStrings(value, rewrite)
  }
}
