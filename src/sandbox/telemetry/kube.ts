/**
 * The Kubernetes side of the telemetry pipeline: each cluster of the pipeline is a test-bed
 * control plane (real kube-apiserver, controller-manager, scheduler; kwok nodes) holding the
 * objects fedobs renders for it. The collectors run against it the way they run in a pod:
 *
 * - in-cluster credentials: KUBERNETES_SERVICE_HOST/PORT and a service-account directory
 *   (token, ca.crt, namespace) at /var/run/secrets/kubernetes.io/serviceaccount, the path
 *   client-go hard-codes. Each collector gets its own private mount namespace (unshare) in
 *   which its own directory is mounted there, so k8s_attributes and kubernetes_sd_configs run
 *   unchanged, with auth_type serviceAccount.
 * - the token is minted (TokenRequest) for the rendered ServiceAccount, whose rights are the
 *   rendered ClusterRole and ClusterRoleBinding applied to the API server: a rule missing from the
 *   rendering fails the test (forbidden list/watch, nothing discovered or enriched).
 * - kwok gives every pod an IP from its node's podCIDR. Pods are to be reached on this host, so
 *   their addresses must be local ones, 127.x.y.z (on Linux all of 127.0.0.0/8 is local): a
 *   source binds the IP of the pod it plays and the agent sees a workload's OTLP connection come
 *   from its pod's IP (k8s_attributes' `from: connection` association). But the API server
 *   refuses loopback addresses in Endpoints and EndpointSlices ("may not be in the loopback
 *   range", k8s.io/kubernetes pkg/apis/core/validation ValidateEndpointIP): the endpoints
 *   controller could not publish a single endpoint. So the cluster's pod network is
 *   10.<A>.0.0/16, and the collectors reach the API server through a proxy that translates it
 *   to 127.<B>.0.0/16 in what the API answers (a same-length byte rewrite, so protobuf and
 *   JSON stay valid), as a NAT would: A has three digits, B two. The API server, its
 *   controllers and RBAC are untouched; only addresses read by the collectors are mapped.
 */
import {randomInt} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest} from 'node:https'
import type {AddressInfo} from 'node:net'
import {Transform} from 'node:stream'
import {createServer, connect, type Server, type Socket} from 'node:net'
import path from 'node:path'
import {AppsV1Api, KubernetesObjectApi, type KubernetesObject, type V1Endpoints, type V1Pod} from '@kubernetes/client-node'
import {createRootCa, issueLeaf} from '../../pki/x509.js'
import type {K8sObject, Rendering} from '../../render/render.js'
import {ignoreStatus} from '../testbed/kube.js'
import {lkeNode, type NodeSpec} from '../testbed/nodes.js'
import type {Testbed, TestCluster} from '../testbed/testbed.js'
import {waitFor} from './net.js'
import {attributes} from './otlp.js'
import type {NodeShape, PodRef} from './sources.js'

/** Where client-go (rest.InClusterConfig) reads a pod's service-account credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface KubePod extends PodRef {
  ip: string
  node: string
}

export interface ApiRequest {
  method: string
  path: string
  status: number
}

export interface KubeCluster {
  cluster: TestCluster
  /** The GPU node (the agent's node, K8S_NODE_NAME) and a standard node, with their pods as the API lists them. */
  gpuNode: NodeShape
  otherNode: NodeShape
  /** Every pod of the cluster, by name. */
  pods: Map<string, KubePod>
  /** The first pod (by name) of a workload: its namespace and name prefix, on a node when given. */
  pod(namespace: string, prefix: string, node?: string): KubePod
  /** Ready endpoint addresses of a Service port: ip:port, as the endpoints controller published them. */
  endpoints(namespace: string, service: string, portName: string): Promise<string[]>
  /**
   * How to run a process as a pod running under `serviceAccount` (namespace/name) in this
   * cluster: the command line (wrapped in a private mount namespace) and the environment.
   */
  asPod(serviceAccount: string, command: string, args: string[]): Promise<{command: string; args: string[]; env: Record<string, string>}>
  /** Every request the collectors made to the API server (through the proxy), with the API server's answer. */
  apiRequests: ApiRequest[]
  /** Listen on a pod's ip:port and forward to a process listening elsewhere (its "network namespace"). */
  forward(listen: string, upstream: string): Promise<void>
  close(): Promise<void>
}

/** Kinds the test bed gets (everything but storage, autoscaling and disruption budgets, see below). */
const SKIPPED_KINDS = new Set(['PersistentVolumeClaim', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'])

/**
 * The rendered object as the test bed gets it. Only the cluster's storage differs: PVCs (the
 * Prometheus volume, StatefulSet claim templates) need the Linode CSI driver, so their volumes
 * become emptyDirs (kwok runs nothing; the pods only have to be scheduled and get IPs). The HPA
 * and PDB are left out: the test runs one gateway process, and an HPA would scale the gateway
 * StatefulSet to its minimum, a second pod nothing serves.
 */
function forTestbed(object: K8sObject): KubernetesObject {
  const copy = structuredClone(object) as any
  const pod = copy.spec?.template?.spec
  if (pod) {
    pod.volumes = (pod.volumes ?? []).map((v: any) => (v.persistentVolumeClaim ? {name: v.name, emptyDir: {}} : v))
    for (const claim of copy.spec.volumeClaimTemplates ?? []) pod.volumes.push({name: claim.metadata.name, emptyDir: {}})
    delete copy.spec.volumeClaimTemplates
  }
  return copy
}

/**
 * The cluster's pod network 10.<A>.<C>.0/24 per node and its local image 127.<B>.<C>.0/24:
 * "10.<A>." and "127.<B>." have the same length. B and C are random, so concurrent test runs
 * get different local addresses (other test beds use 127.<1..250>.{0,127,128+}.x, hence C < 127).
 */
export interface PodNetwork {
  cidr: (node: number) => string
  remote: string
  local: string
}

export function podNetwork(): PodNetwork {
  const [a, b, c] = [randomInt(100, 256), randomInt(10, 100), randomInt(1, 126)]
  return {cidr: (node) => `10.${a}.${c + node}.0/24`, remote: `10.${a}.`, local: `127.${b}.`}
}

export interface KubeClusterOptions {
  role: 'hub' | 'edge'
  /** Test-bed cluster name (an etcd prefix and kubeconfig names). */
  name: string
  rendering: Rendering
  /** Node names: kept from the synthetic world so the GPU node says "gpu" (the fake KSM keys on it). */
  gpuNode: string
  otherNode: string
  dir: string
}

export async function startKubeCluster(testbed: Testbed, options: KubeClusterOptions): Promise<KubeCluster> {
  const cluster = await testbed.addCluster({name: options.name, region: 'us-ord'})
  const {core, config} = cluster.clients()
  const closers: Array<() => Promise<void>> = []
  try {
    const version = cluster.version
    const network = podNetwork()
    const attached = await attachKube(cluster, network, options.dir)
    closers.push(() => attached.close())
    const toLocal = attached.toLocal
    let nodes = 0
    const addNode = async (name: string, spec: NodeSpec): Promise<void> => {
      const body = lkeNode(spec, {name, internalIP: '127.0.0.1', region: 'us-ord', kubeletVersion: version})
      body.spec!.podCIDR = network.cidr(nodes++)
      const created = await core.createNode({body})
      if (!created.status?.capacity?.cpu) await core.replaceNodeStatus({name, body: {...created, status: body.status}})
    }
    await addNode(options.gpuNode, {plan: 'g2-gpu-rtx4000a1-s', poolId: 1, instanceId: 1, labels: {'nvidia.com/gpu.present': 'true'}})
    await addNode(options.otherNode, {plan: 'g6-standard-4', poolId: 2, instanceId: 2})

    // Namespaces first, then everything else in rendering order (as `fedobs deploy` applies).
    const api = KubernetesObjectApi.makeApiClient(config)
    const objects = options.rendering.objects.filter((o) => !SKIPPED_KINDS.has(o.kind)).map(forTestbed)
    for (const object of [...objects.filter((o) => o.kind === 'Namespace'), ...objects.filter((o) => o.kind !== 'Namespace')]) {
      await ignoreStatus(api.create(object), 409)
    }

    // Every workload's pods Running with an IP, and every selector Service's endpoints published.
    const apps = config.makeApiClient(AppsV1Api)
    const pods = await waitFor(
      `${options.name}: rendered workloads running with pod IPs`,
      async () => {
        const [deployments, statefulSets, daemonSets, items] = await Promise.all([
          apps.listDeploymentForAllNamespaces(),
          apps.listStatefulSetForAllNamespaces(),
          apps.listDaemonSetForAllNamespaces(),
          core.listPodForAllNamespaces(),
        ])
        const rolledOut =
          [...deployments.items, ...statefulSets.items].every((w) => (w.status?.readyReplicas ?? 0) === (w.spec?.replicas ?? 1)) &&
          daemonSets.items.every((d) => (d.status?.observedGeneration ?? 0) > 0 && d.status!.numberReady === d.status!.desiredNumberScheduled) &&
          daemonSets.items.find((d) => d.metadata?.name === 'otel-agent')?.status?.numberReady === 2
        const running = items.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.spec?.nodeName)
        return rolledOut && running.length === items.items.length ? running : undefined
      },
      {timeoutMs: 120_000, intervalMs: 500},
    )
    const byName = new Map<string, KubePod>(
      pods.map((p: V1Pod) => {
        const ref: KubePod = {
          namespace: p.metadata!.namespace!,
          name: p.metadata!.name!,
          uid: p.metadata!.uid!,
          containers: p.spec!.containers.map((c) => c.name),
          ip: toLocal(p.status!.podIP!),
          node: p.spec!.nodeName!,
        }
        return [ref.name, ref]
      }),
    )
    for (const pod of byName.values()) {
      if (!pod.ip.startsWith(network.local)) throw new Error(`pod ${pod.namespace}/${pod.name} got ${pod.ip}, outside ${network.remote}0.0/16 (node podCIDR not used by kwok?)`)
    }

    const podOf = (namespace: string, prefix: string, node?: string): KubePod => {
      const found = [...byName.values()]
        .filter((p) => p.namespace === namespace && p.name.startsWith(prefix) && (node === undefined || p.node === node))
        .sort((a, b) => a.name.localeCompare(b.name))[0]
      if (!found) throw new Error(`${options.name}: no pod ${namespace}/${prefix}* ${node ? `on ${node}` : ''}`)
      return found
    }
    const shapeOf = (node: string, first: KubePod[]): NodeShape => {
      const rest = [...byName.values()].filter((p) => p.node === node && !first.includes(p)).sort((a, b) => a.name.localeCompare(b.name))
      return {node, pods: [...first, ...rest]}
    }
    const gpu = options.gpuNode
    const dcgmNamespace = options.rendering.objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'dcgm-exporter')?.metadata.namespace ?? 'monitoring'
    // In the order the pipeline's tests address them: the GPU workload, its dcgm-exporter, the agent.
    const gpuNode = shapeOf(gpu, [podOf('bert-inference', 'bert-inference-', gpu), podOf(dcgmNamespace, 'dcgm-exporter-', gpu), podOf('observability', 'otel-agent-', gpu)])
    const otherNode = shapeOf(options.otherNode, [])

    const kube: KubeCluster = {
      cluster,
      gpuNode,
      otherNode,
      pods: byName,
      pod: podOf,
      apiRequests: attached.apiRequests,
      endpoints: attached.endpoints,
      asPod: attached.asPod,
      forward: attached.forward,
      async close() {
        await Promise.all(closers.map((close) => close()))
        await testbed.removeCluster(options.name)
      },
    }
    return kube
  } catch (error) {
    await Promise.all(closers.map((close) => close()))
    await testbed.removeCluster(options.name)
    throw error
  }
}

/** What a process needs to run "inside" a test-bed cluster: API access as a pod, its Services' endpoints, pod-IP listeners. */
export interface AttachedKube {
  /** Map a pod IP the API lists (10.A.x.y) to the local address standing in for it (127.B.x.y). */
  toLocal: (ip: string) => string
  /** Ready endpoint addresses of a Service port: local ip:port, as the endpoints controller published them. */
  endpoints: (namespace: string, service: string, portName: string, timeoutMs?: number) => Promise<string[]>
  asPod: (serviceAccount: string, command: string, args: string[]) => Promise<{command: string; args: string[]; env: Record<string, string>}>
  forward: (listen: string, upstream: string) => Promise<void>
  /** Stop listening on an address forward() opened. */
  unforward: (listen: string) => Promise<void>
  apiRequests: ApiRequest[]
  close: () => Promise<void>
}

/**
 * Attach to a test-bed cluster whose nodes carry podCIDRs of `network`: the translating API proxy
 * the collectors talk to, service-account credentials, and forwarders on pod IPs.
 */
export async function attachKube(cluster: TestCluster, network: PodNetwork, dir: string): Promise<AttachedKube> {
  const {core} = cluster.clients()
  const toLocal = (ip: string): string => (ip.startsWith(network.remote) ? network.local + ip.slice(network.remote.length) : ip)
  const apiCa = readFileSync(path.join(cluster.dir, 'ca.crt'), 'utf8')
  const proxy = await startTranslatingProxy(new URL(cluster.server), apiCa, network.remote, network.local)
  const forwarders = new Map<string, Server>()
  const sockets = new Set<Socket>()
  const apiPort = String(proxy.port)
  let accounts = 0
  const closeServer = (server: Server): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()))
  return {
    toLocal,
    apiRequests: proxy.requests,
    async endpoints(namespace, service, portName, timeoutMs = 60_000) {
      return waitFor(
        `${cluster.name}: endpoints of ${namespace}/${service}:${portName}`,
        async () => {
          const endpoints: V1Endpoints | undefined = await ignoreStatus(core.readNamespacedEndpoints({namespace, name: service}), 404)
          const found = (endpoints?.subsets ?? []).flatMap((s) => {
            const port = s.ports?.find((p) => p.name === portName)?.port
            return port === undefined ? [] : (s.addresses ?? []).map((a) => `${toLocal(a.ip)}:${port}`)
          })
          return found.length > 0 ? found : undefined
        },
        {timeoutMs, intervalMs: 250},
      )
    },
    async asPod(serviceAccount, command, args) {
      const [namespace, name] = serviceAccount.split('/') as [string, string]
      const {status} = await core.createNamespacedServiceAccountToken({namespace, name, body: {spec: {expirationSeconds: 24 * 3600}}})
      if (!status?.token) throw new Error(`${cluster.name}: no token minted for ${serviceAccount}`)
      const run = writeServiceAccount(path.join(dir, `run-${++accounts}-${name}`), {token: status.token, ca: proxy.ca, namespace})
      return {...asPodCommand(run, command, args), env: {KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: apiPort, KUBERNETES_SERVICE_PORT_HTTPS: apiPort}}
    },
    async forward(listen, upstream) {
      const [host, port] = splitHostPort(listen)
      const [upHost, upPort] = splitHostPort(upstream)
      const server = createServer((client: Socket) => {
        const up = connect(upPort, upHost)
        sockets.add(client).add(up)
        client.pipe(up).pipe(client)
        const destroy = (): void => {
          client.destroy()
          up.destroy()
          sockets.delete(client)
          sockets.delete(up)
        }
        client.on('error', destroy).on('close', destroy)
        up.on('error', destroy).on('close', destroy)
      })
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => resolve())
      })
      forwarders.set(listen, server)
    },
    async unforward(listen) {
      const server = forwarders.get(listen)
      forwarders.delete(listen)
      if (server) await closeServer(server)
    },
    async close() {
      const closed = [...forwarders.values()].map(closeServer)
      forwarders.clear()
      for (const socket of sockets) socket.destroy()
      await Promise.all(closed)
      await proxy.close()
    },
  }
}

/**
 * A pod's /run as the kubelet lays out its service-account volume: <run>/secrets/kubernetes.io/
 * serviceaccount/{token,ca.crt,namespace}. Returns <run>, for asPodCommand.
 */
export function writeServiceAccount(run: string, account: {token: string; ca: string; namespace: string}): string {
  const dir = path.join(run, 'secrets/kubernetes.io/serviceaccount')
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, 'token'), account.token, {mode: 0o600})
  writeFileSync(path.join(dir, 'ca.crt'), account.ca)
  writeFileSync(path.join(dir, 'namespace'), account.namespace)
  return run
}

/**
 * Run `command` with `run` mounted over /run (so over /var/run, where client-go reads the
 * service-account files) in a private mount namespace of its own: nothing else of the host's /run
 * is needed, and no other process sees it. `exec` keeps one process, so the pid a test signals
 * is the command's.
 */
export function asPodCommand(run: string, command: string, args: string[]): {command: string; args: string[]} {
  // Root may create a mount namespace directly; anyone else maps itself to root in a user namespace.
  const user = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']
  return {command: 'unshare', args: [...user, '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /run && exec "$@"', run, command, ...args]}
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), Number(address.slice(i + 1))]
}

/**
 * An HTTPS proxy to the API server that rewrites `from` to `to` (same length) in every response
 * body. It serves a certificate of its own for 127.0.0.1 (the ca.crt the collectors get) and
 * passes requests, with their bearer tokens, through unchanged: authentication and RBAC are the
 * API server's. Responses are asked for uncompressed so the bytes can be rewritten.
 */
async function startTranslatingProxy(upstream: URL, upstreamCa: string, from: string, to: string): Promise<{port: number; ca: string; requests: ApiRequest[]; close(): Promise<void>}> {
  const requests: ApiRequest[] = []
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error(`translation ${from} → ${to} must keep the length`)
  const ca = await createRootCa('fedobs test-bed API proxy CA', 'fedobs test bed', 2)
  const serving = await issueLeaf(ca, {
    commonName: 'kubernetes',
    usage: 'server',
    dnsNames: ['localhost', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1'],
    notAfter: new Date(Date.now() + 2 * 86_400_000),
  })
  const agent = new HttpsAgent({keepAlive: true, ca: upstreamCa})
  const server = createHttpsServer({key: serving.key, cert: serving.cert}, (req, res) => {
    const headers = {...req.headers, host: upstream.host, 'accept-encoding': 'identity'}
    const up = httpsRequest({host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent}, (answer) => {
      requests.push({method: req.method ?? '', path: req.url ?? '', status: answer.statusCode ?? 0})
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(new Translate(Buffer.from(from), Buffer.from(to))).pipe(res)
    })
    up.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502)
      res.end(String(error))
    })
    res.on('close', () => up.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    ca: ca.cert,
    requests,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      agent.destroy()
    },
  }
}

/**
 * Replaces every `from` with `to` in a byte stream. A chunk ending in a proper prefix of `from`
 * keeps that tail back for the next chunk, at most 20 ms (watch events must not wait).
 */
export class Translate extends Transform {
  private tail = Buffer.alloc(0)
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly from: Buffer,
    private readonly to: Buffer,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: string, done: () => void): void {
    clearTimeout(this.timer)
    const data = Buffer.concat([this.tail, chunk])
    for (let i = data.indexOf(this.from); i !== -1; i = data.indexOf(this.from, i + this.from.length)) this.to.copy(data, i)
    let keep = 0
    for (let n = Math.min(this.from.length - 1, data.length); n > 0; n--) {
      if (data.subarray(data.length - n).equals(this.from.subarray(0, n))) {
        keep = n
        break
      }
    }
    this.tail = Buffer.from(data.subarray(data.length - keep))
    this.push(data.subarray(0, data.length - keep))
    if (keep > 0) this.timer = setTimeout(() => this.flushTail(), 20)
    done()
  }

  override _flush(done: () => void): void {
    clearTimeout(this.timer)
    this.flushTail()
    done()
  }

  private flushTail(): void {
    if (this.tail.length > 0) this.push(this.tail)
    this.tail = Buffer.alloc(0)
  }
}

/**
 * POST JSON from a pod: the connection's source address is the pod's 127.x IP, which is what
 * k8s_attributes' `from: connection` association looks up (a workload's SDK talking to the agent).
 */
export async function postJsonFrom(localAddress: string, url: string, body: unknown): Promise<void> {
  const payload = Buffer.from(JSON.stringify(body))
  const {status, text} = await new Promise<{status: number; text: string}>((resolve, reject) => {
    const req = httpRequest(url, {method: 'POST', localAddress, agent: false, headers: {'content-type': 'application/json', 'content-length': payload.length}, timeout: 10_000}, (res) => {
      const chunks: Buffer[] = []
      res
        .on('data', (c: Buffer) => chunks.push(c))
        .on('end', () => resolve({status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString()}))
        .on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`POST ${url}: timed out`))).on('error', reject)
    req.end(payload)
  })
  if (status < 200 || status > 299) throw new Error(`POST ${url} from ${localAddress}: ${status} ${text}`)
}

/** An OTLP/JSON metrics request: one gauge point (value 1, now) per name, from one resource. */
export function gaugeRequest(resource: Record<string, string>, names: string[]): unknown {
  const now = (BigInt(Date.now()) * 1_000_000n).toString()
  return {
    resourceMetrics: [
      {
        resource: {attributes: attributes(resource)},
        scopeMetrics: [{scope: {name: 'fedobs-telemetry-test'}, metrics: names.map((name) => ({name, gauge: {dataPoints: [{asDouble: 1, timeUnixNano: now}]}}))}],
      },
    ],
  }
}
