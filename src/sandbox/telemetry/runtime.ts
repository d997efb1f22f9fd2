/**
 * The sandbox's telemetry, for real: whatever fedobs deployed into a sandbox cluster runs on this
 * host, as a kubelet would run it. Every few seconds each cluster's API server is read, and
 *
 * - the hub's `prometheus` Deployment runs as a real Prometheus with the deployed ConfigMap and
 *   container arguments; its `otel-gateway` StatefulSet as a real collector with the deployed
 *   config, the Secrets it mounts (gateway certificate, trust bundle) and its environment;
 * - every cluster's `otel-agent` DaemonSet (the agent of one node: the GPU node when there is one),
 *   `otel-scraper` Deployment and `kube-state-metrics` Deployment run as real processes *as pods of
 *   that cluster*: in-cluster credentials minted for their ServiceAccounts, so the deployed RBAC
 *   decides what they may read (kube.ts);
 * - the workloads the collectors scrape and receive from are played by synthetic sources bound to
 *   their pods' IPs: BERT inference, dcgm-exporter, the kubelet; BERT also sends logs and traces
 *   through the agent and writes container log lines the agent tails;
 * - Loki is the real VictoriaLogs behind a Loki-shaped front (with the LogQL fake for verify's
 *   queries), Tempo the TraceQL fake.
 *
 * A changed ConfigMap, argument or environment restarts the process (a rollout); a changed Secret is
 * rewritten in place (kubelet atomic writer), as in a pod; a workload that goes away is stopped.
 * Ports and queue directories stay the same across restarts, like a pod's PVC.
 */
import {createHash} from 'node:crypto'
import {appendFileSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import {AppsV1Api, type V1Container, type V1Pod, type V1PodSpec} from '@kubernetes/client-node'
import {parse} from 'yaml'
import {emitYaml} from '../../lib/emit-yaml.js'
import type {TestCluster} from '../testbed/cluster.js'
import {ignoreStatus} from '../testbed/kube.js'
import {FakeLoki, indexAttributesOf} from './fake-loki.js'
import {FakeTempo} from './fake-tempo.js'
import {attachKube, postJsonFrom, type AttachedKube, type PodNetwork} from './kube.js'
import {loopbackVariant} from './loopback.js'
import {SecretVolume} from './mounts.js'
import {freePort, httpOk, LOOPBACK} from './net.js'
import {logsRequest, traceRequest} from './otlp.js'
import {ManagedProcess} from './processes.js'
import {lokiPushLimit} from './pushback.js'
import {BertInferenceSource, DcgmExporterSource, KubeletSource, type NodeShape, type PodRef, type Source} from './sources.js'
import {LokiFront, VictoriaLogs} from './victorialogs.js'

export interface TelemetryBinaries {
  otelcol: string
  prometheus: string
  kubeStateMetrics: string
  /** Without it, logs are kept by the LogQL fake only. */
  victoriaLogs?: string
}

export interface SandboxCluster {
  lkeId: number
  cluster: TestCluster
  network: PodNetwork
}

export interface SandboxTelemetryOptions {
  binaries: TelemetryBinaries
  dir: string
  /** The sandbox's running clusters, read at every round. */
  clusters: () => SandboxCluster[]
  intervalMs?: number
  /** How often each cluster's BERT workload sends a log record, a trace and a log line (default 5 s). */
  trafficMs?: number
  log?: (line: string) => void
}

/** What `fedobs sandbox status` shows of one process. */
export interface RuntimeProcess {
  cluster: string
  name: string
  running: boolean
  starts: number
}

const SERVICE = (name: string, namespace: string, port: number): string => `${name}.${namespace}.svc.cluster.local:${port}`

interface Running {
  hash: string
  process: ManagedProcess
}

/** The ports and directories of one process, kept across its restarts. */
interface Slot {
  ports: Record<number, number>
  dir: string
}

class ClusterRuntime {
  readonly processes = new Map<string, Running>()
  readonly slots = new Map<string, Slot>()
  readonly secrets = new Map<string, {volume: SecretVolume; data: string}>()
  readonly sources = new Map<string, {source: Source; stop(): Promise<void>}>()
  readonly forwards = new Map<string, string>()
  kubelet: {source: KubeletSource; node: string} | undefined
  agentHttp: string | undefined
  bertPods: Array<PodRef & {ip: string}> = []
  podLogDir: string
  label = ''
  hub = false

  constructor(
    readonly id: SandboxCluster,
    readonly kube: AttachedKube,
    readonly dir: string,
  ) {
    this.podLogDir = path.join(dir, 'var-log-pods')
    mkdirSync(this.podLogDir, {recursive: true})
  }

  async slot(key: string, containerPorts: number[]): Promise<Slot> {
    let slot = this.slots.get(key)
    if (!slot) {
      const ports: Record<number, number> = {}
      for (const p of containerPorts) ports[p] = await freePort()
      slot = {ports, dir: path.join(this.dir, key)}
      mkdirSync(slot.dir, {recursive: true})
      this.slots.set(key, slot)
    }
    return slot
  }
}

export class SandboxTelemetry {
  readonly loki = new FakeLoki()
  readonly tempo = new FakeTempo()
  private logStore: VictoriaLogs | undefined
  private lokiFront: LokiFront | undefined
  private readonly runtimes = new Map<number, ClusterRuntime>()
  /** Addresses outside any cluster that exporters use (the gateway LoadBalancer) → the local gateway. */
  private external: Record<string, string> = {}
  /** Cluster Service addresses of the hub's backends → local addresses. */
  private readonly services: Record<string, string> = {}
  private timer: NodeJS.Timeout | undefined
  private traffic: NodeJS.Timeout | undefined
  private round: Promise<void> = Promise.resolve()
  private stopped = false
  /** Problems of the last round (a cluster whose workloads could not be run as deployed), one per cluster. */
  errors: string[] = []
  prometheusPort = 0

  constructor(readonly options: SandboxTelemetryOptions) {}

  get prometheusUrl(): string {
    return `http://${LOOPBACK}:${this.prometheusPort}`
  }

  async start(): Promise<this> {
    mkdirSync(this.options.dir, {recursive: true})
    this.prometheusPort = await freePort()
    await Promise.all([this.loki.start(), this.tempo.start()])
    if (this.options.binaries.victoriaLogs) {
      this.logStore = await VictoriaLogs.start(this.options.binaries.victoriaLogs, path.join(this.options.dir, 'victorialogs'))
      this.lokiFront = await new LokiFront(this.loki.url, this.logStore).start()
    }
    Object.assign(this.services, {
      [SERVICE('prometheus', 'monitoring', 9090)]: `${LOOPBACK}:${this.prometheusPort}`,
      [SERVICE('loki', 'monitoring', 3100)]: `${LOOPBACK}:${this.lokiFront?.port ?? this.loki.port}`,
      [SERVICE('tempo', 'monitoring', 4318)]: `${LOOPBACK}:${this.tempo.port}`,
      [SERVICE('tempo', 'monitoring', 4317)]: `${LOOPBACK}:${this.tempo.port}`,
    })
    const tick = (): void => {
      if (this.stopped) return
      this.round = this.reconcile().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs ?? 2000)
      })
    }
    tick()
    const send = (): void => {
      if (this.stopped) return
      void this.sendTraffic().finally(() => {
        if (!this.stopped) this.traffic = setTimeout(send, this.options.trafficMs ?? 5000)
      })
    }
    send()
    return this
  }

  /** Every process the sandbox runs for the clusters, for status. */
  processes(): RuntimeProcess[] {
    return [...this.runtimes.values()].flatMap((r) =>
      [...r.processes.entries()].map(([name, p]) => ({cluster: r.label || `lke${r.id.lkeId}`, name, running: p.process.running, starts: p.process.starts})),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.traffic)
    await this.round.catch(() => undefined)
    for (const runtime of this.runtimes.values()) await this.dropCluster(runtime)
    this.runtimes.clear()
    await this.lokiFront?.close()
    await this.logStore?.close()
    await Promise.all([this.loki.close(), this.tempo.close()])
  }

  private note(line: string): void {
    this.options.log?.(line)
  }

  private async reconcile(): Promise<void> {
    const live = this.options.clusters()
    const ids = new Set(live.map((c) => c.lkeId))
    for (const [lkeId, runtime] of this.runtimes) {
      if (ids.has(lkeId)) continue
      this.runtimes.delete(lkeId)
      await this.dropCluster(runtime)
    }
    // The hub first: the edges' exporters need its gateway's address.
    const ordered = await Promise.all(
      live.map(async (c) => ({
        c,
        hub: await ignoreStatus(c.cluster.clients().config.makeApiClient(AppsV1Api).readNamespacedStatefulSet({namespace: 'observability-hub', name: 'otel-gateway'}), 404).catch(() => undefined),
      })),
    )
    ordered.sort((a, b) => Number(Boolean(b.hub)) - Number(Boolean(a.hub)))
    const errors: string[] = []
    for (const {c} of ordered) {
      try {
        let runtime = this.runtimes.get(c.lkeId)
        if (!runtime) {
          const dir = path.join(this.options.dir, `lke${c.lkeId}`)
          runtime = new ClusterRuntime(c, await attachKube(c.cluster, c.network, dir), dir)
          this.runtimes.set(c.lkeId, runtime)
        }
        await this.reconcileCluster(runtime)
      } catch (error) {
        const message = `lke${c.lkeId}: ${error instanceof Error ? error.message : String(error)}`
        if (!this.errors.includes(message)) this.note(message)
        errors.push(message)
      }
    }
    this.errors = errors
  }

  private async dropCluster(runtime: ClusterRuntime): Promise<void> {
    for (const [, running] of runtime.processes) await running.process.stop(5000)
    runtime.processes.clear()
    await Promise.all([...runtime.sources.values()].map((s) => s.stop()))
    runtime.sources.clear()
    if (runtime.kubelet) await runtime.kubelet.source.close()
    runtime.kubelet = undefined
    await runtime.kube.close()
  }

  private async reconcileCluster(runtime: ClusterRuntime): Promise<void> {
    const {core} = runtime.id.cluster.clients()
    const apps = runtime.id.cluster.clients().config.makeApiClient(AppsV1Api)
    const [pods, deployments, statefulSets, daemonSets, nodes] = await Promise.all([
      core.listPodForAllNamespaces(),
      apps.listDeploymentForAllNamespaces(),
      apps.listStatefulSetForAllNamespaces(),
      apps.listDaemonSetForAllNamespaces(),
      core.listNode(),
    ])
    const running = pods.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.spec?.nodeName && !p.metadata?.deletionTimestamp)
    const podsOf = (namespace: string, selector: Record<string, string> | undefined): V1Pod[] =>
      running
        .filter((p) => p.metadata?.namespace === namespace && Object.entries(selector ?? {}).every(([k, v]) => p.metadata?.labels?.[k] === v))
        .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))
    const workload = (
      list: Array<{metadata?: {namespace?: string; name?: string}; spec?: {selector?: {matchLabels?: Record<string, string>}; template?: {spec?: V1PodSpec}}}>,
      namespace: string,
      name: string,
    ): {spec: V1PodSpec; pods: V1Pod[]} | undefined => {
      const found = list.find((w) => w.metadata?.namespace === namespace && w.metadata.name === name)
      if (!found?.spec?.template?.spec) return undefined
      return {spec: found.spec.template.spec, pods: podsOf(namespace, found.spec.selector?.matchLabels)}
    }
    const wanted = new Set<string>()

    // Who this cluster is: the cluster.id its collectors stamp, for messages.
    const gateway = workload(statefulSets.items, 'observability-hub', 'otel-gateway')
    const prometheus = workload(deployments.items, 'monitoring', 'prometheus')
    const agent = workload(daemonSets.items, 'observability', 'otel-agent')
    const scraper = workload(deployments.items, 'observability', 'otel-scraper')
    const ksm = workload(deployments.items, 'observability', 'kube-state-metrics')

    // ---- the synthetic workloads, on their pods' IPs
    const bert = workload(deployments.items, 'bert-inference', 'bert-inference')
    runtime.bertPods = (bert?.pods ?? []).map((p) => podRef(p, runtime.kube))
    const bertPort = bert?.spec.containers[0]?.ports?.[0]?.containerPort ?? 8080
    for (const pod of runtime.bertPods) await this.source(runtime, `bert/${pod.name}`, `${pod.ip}:${bertPort}`, () => new BertInferenceSource({seed: `bert-${pod.name}`}), wanted)
    const dcgmSet = daemonSets.items.find((d) => d.metadata?.name === 'dcgm-exporter')
    if (dcgmSet) {
      const dcgm = workload(daemonSets.items, dcgmSet.metadata!.namespace!, 'dcgm-exporter')
      const port = dcgm?.spec.containers[0]?.ports?.[0]?.containerPort ?? 9400
      const allocated = runtime.bertPods[0]
      for (const pod of dcgm?.pods ?? []) {
        const ref = podRef(pod, runtime.kube)
        await this.source(
          runtime,
          `dcgm/${ref.name}`,
          `${ref.ip}:${port}`,
          () => new DcgmExporterSource({node: pod.spec!.nodeName!, ...(allocated ? {allocatedTo: {namespace: allocated.namespace, pod: allocated.name, container: allocated.containers[0]!}} : {})}),
          wanted,
        )
      }
    }

    // ---- the hub's backends and gateway
    if (prometheus && prometheus.pods.length > 0) {
      const config = await this.configMap(runtime, 'monitoring', prometheus.spec, 'config')
      const slot = await runtime.slot('prometheus', [])
      const dataDir = path.join(slot.dir, 'data')
      mkdirSync(dataDir, {recursive: true})
      const file = path.join(slot.dir, 'prometheus.yml')
      const args = (prometheus.spec.containers[0]!.args ?? []).map((arg) =>
        arg.startsWith('--config.file=') ? `--config.file=${file}` : arg.startsWith('--storage.tsdb.path=') ? `--storage.tsdb.path=${dataDir}` : arg,
      )
      const url = this.prometheusUrl
      await this.process(
        runtime,
        'prometheus',
        {
          files: {[file]: config['prometheus.yml'] ?? ''},
          command: this.options.binaries.prometheus,
          args: [...args, `--web.listen-address=${LOOPBACK}:${this.prometheusPort}`],
          env: {},
          ready: () => httpOk(`${url}/-/ready`),
        },
        wanted,
      )
      for (const pod of prometheus.pods) await this.forward(runtime, `${podRef(pod, runtime.kube).ip}:9090`, `${LOOPBACK}:${this.prometheusPort}`, wanted)
    }
    const lokiConfig = await ignoreStatus(core.readNamespacedConfigMap({namespace: 'monitoring', name: 'loki-config'}), 404)
    if (lokiConfig?.data?.['loki.yaml']) {
      const config = parse(lokiConfig.data['loki.yaml'])
      this.loki.index(indexAttributesOf(config))
      this.loki.pushBack.maxBytes = lokiPushLimit(config)
    }
    if (gateway && gateway.pods.length > 0) {
      const slot = await runtime.slot('otel-gateway', [4317, 4318, 13133, 8888])
      const pod = gateway.pods[0]!
      const mounts = await this.secretMounts(runtime, 'observability-hub', gateway.spec, 'otel-gateway')
      const config = parse((await this.configMap(runtime, 'observability-hub', gateway.spec, 'config'))['config.yaml'] ?? '{}')
      const file = path.join(slot.dir, 'config.yaml')
      const variant = loopbackVariant(config, {ports: slot.ports, services: this.services, dataDir: slot.dir, mounts, keepServerName: true})
      const container = gateway.spec.containers[0]!
      await this.process(
        runtime,
        'otel-gateway',
        {
          files: {[file]: emitYaml(variant)},
          command: this.options.binaries.otelcol,
          args: [`--config=${file}`, ...collectorArgs(container)],
          env: envOf(container, pod, runtime.kube),
          ready: () => httpOk(`http://${LOOPBACK}:${slot.ports[13133]}/`),
        },
        wanted,
      )
      const grpc = `${LOOPBACK}:${slot.ports[4317]}`
      this.services[SERVICE('otel-gateway', 'observability-hub', 4317)] = grpc
      this.services[SERVICE('otel-gateway', 'observability-hub', 4318)] = `${LOOPBACK}:${slot.ports[4318]}`
      for (const p of gateway.pods) {
        const ip = podRef(p, runtime.kube).ip
        for (const port of [4317, 4318, 8888]) await this.forward(runtime, `${ip}:${port}`, `${LOOPBACK}:${slot.ports[port]}`, wanted)
      }
      // The LoadBalancer the edges ship to (its address is in their exporter endpoints).
      const external = await ignoreStatus(core.readNamespacedService({namespace: 'observability-hub', name: 'otel-gateway-external'}), 404)
      for (const ingress of external?.status?.loadBalancer?.ingress ?? []) {
        for (const port of external!.spec?.ports ?? []) {
          const target = port.port === 4318 ? slot.ports[4318] : slot.ports[4317]
          const host = ingress.ip?.includes(':') ? `[${ingress.ip}]` : (ingress.ip ?? ingress.hostname)
          if (host) this.external[`${host}:${port.port}`] = `${LOOPBACK}:${target}`
        }
      }
    }

    // ---- every cluster's collectors, as pods of it
    if (agent && agent.pods.length > 0) {
      const gpuNodes = new Set(nodes.items.filter((n) => n.metadata?.labels?.['nvidia.com/gpu.present'] === 'true').map((n) => n.metadata!.name!))
      const pod = agent.pods.find((p) => gpuNodes.has(p.spec!.nodeName!)) ?? agent.pods[0]!
      const node = pod.spec!.nodeName!
      const shape: NodeShape = {node, pods: running.filter((p) => p.spec!.nodeName === node).map((p) => podRef(p, runtime.kube))}
      if (runtime.kubelet?.node !== node) {
        await runtime.kubelet?.source.close()
        runtime.kubelet = {source: await new KubeletSource(shape).start(), node}
      } else runtime.kubelet.source.shape.pods.splice(0, Infinity, ...shape.pods)
      const slot = await runtime.slot('otel-agent', [4317, 4318, 13133, 8888])
      const mounts = await this.secretMounts(runtime, 'observability', agent.spec, 'otel-agent')
      const config = parse((await this.configMap(runtime, 'observability', agent.spec, 'config'))['config.yaml'] ?? '{}')
      const file = path.join(slot.dir, 'config.yaml')
      const variant = loopbackVariant(config, {
        ports: slot.ports,
        services: this.services,
        external: this.external,
        dataDir: slot.dir,
        podLogDir: runtime.podLogDir,
        kubeletPort: runtime.kubelet.source.port,
        mounts,
        keepServerName: true,
      })
      const container = agent.spec.containers[0]!
      await this.process(
        runtime,
        'otel-agent',
        {
          files: {[file]: emitYaml(variant)},
          command: this.options.binaries.otelcol,
          args: [`--config=${file}`, ...collectorArgs(container)],
          env: envOf(container, pod, runtime.kube),
          serviceAccount: serviceAccountOf('observability', agent.spec),
          ready: () => httpOk(`http://${LOOPBACK}:${slot.ports[13133]}/`),
        },
        wanted,
      )
      runtime.agentHttp = `http://${LOOPBACK}:${slot.ports[4318]}`
      const ip = podRef(pod, runtime.kube).ip
      for (const port of [4317, 4318]) await this.forward(runtime, `${ip}:${port}`, `${LOOPBACK}:${slot.ports[port]}`, wanted)
    } else runtime.agentHttp = undefined
    if (scraper && scraper.pods.length > 0) {
      const slot = await runtime.slot('otel-scraper', [13133, 8888])
      const pod = scraper.pods[0]!
      const mounts = await this.secretMounts(runtime, 'observability', scraper.spec, 'otel-scraper')
      const config = parse((await this.configMap(runtime, 'observability', scraper.spec, 'config'))['config.yaml'] ?? '{}')
      const file = path.join(slot.dir, 'config.yaml')
      const variant = loopbackVariant(config, {ports: slot.ports, services: this.services, external: this.external, dataDir: slot.dir, mounts, keepServerName: true})
      const container = scraper.spec.containers[0]!
      await this.process(
        runtime,
        'otel-scraper',
        {
          files: {[file]: emitYaml(variant)},
          command: this.options.binaries.otelcol,
          args: [`--config=${file}`, ...collectorArgs(container)],
          env: envOf(container, pod, runtime.kube),
          serviceAccount: serviceAccountOf('observability', scraper.spec),
          ready: () => httpOk(`http://${LOOPBACK}:${slot.ports[13133]}/`),
        },
        wanted,
      )
    }
    if (ksm && ksm.pods.length > 0) {
      const slot = await runtime.slot('kube-state-metrics', [8080, 8081])
      const container = ksm.spec.containers[0]!
      const args = (container.args ?? []).map((a) => a.replace(/^--port=\d+$/, `--port=${slot.ports[8080]}`).replace(/^--telemetry-port=\d+$/, `--telemetry-port=${slot.ports[8081]}`))
      await this.process(
        runtime,
        'kube-state-metrics',
        {
          files: {},
          command: this.options.binaries.kubeStateMetrics,
          args: [...args, `--host=${LOOPBACK}`, `--telemetry-host=${LOOPBACK}`],
          serviceAccount: serviceAccountOf('observability', ksm.spec),
          ready: async () => (await fetch(`http://${LOOPBACK}:${slot.ports[8081]}/readyz`).catch(() => undefined))?.status === 200,
        },
        wanted,
      )
      for (const pod of ksm.pods) await this.forward(runtime, `${podRef(pod, runtime.kube).ip}:8080`, `${LOOPBACK}:${slot.ports[8080]}`, wanted)
    }
    if (!runtime.label) runtime.label = await clusterLabel(runtime)

    // ---- what went away
    for (const [name, run] of runtime.processes) {
      if (wanted.has(`process:${name}`)) continue
      runtime.processes.delete(name)
      this.note(`${runtime.label}: ${name} removed, stopping it`)
      await run.process.stop(5000)
    }
    for (const [key, source] of runtime.sources) {
      if (wanted.has(`source:${key}`)) continue
      runtime.sources.delete(key)
      await source.stop()
    }
    for (const [listen] of runtime.forwards) {
      if (wanted.has(`forward:${listen}`)) continue
      runtime.forwards.delete(listen)
      await runtime.kube.unforward(listen)
    }
    if (runtime.hub && !gateway) this.external = {}
    runtime.hub = Boolean(gateway)
  }

  private async source(runtime: ClusterRuntime, key: string, address: string, make: () => Source, wanted: Set<string>): Promise<void> {
    wanted.add(`source:${key}`)
    if (runtime.sources.has(key)) return
    const [host, port] = splitHostPort(address)
    const source = make()
    source.host = host
    await source.start(port)
    runtime.sources.set(key, {source, stop: () => source.close()})
  }

  private async forward(runtime: ClusterRuntime, listen: string, upstream: string, wanted: Set<string>): Promise<void> {
    wanted.add(`forward:${listen}`)
    if (runtime.forwards.get(listen) === upstream) return
    if (runtime.forwards.has(listen)) await runtime.kube.unforward(listen)
    await runtime.kube.forward(listen, upstream)
    runtime.forwards.set(listen, upstream)
  }

  private async configMap(runtime: ClusterRuntime, namespace: string, spec: V1PodSpec, volume: string): Promise<Record<string, string>> {
    const name = spec.volumes?.find((v) => v.name === volume)?.configMap?.name
    if (!name) throw new Error(`no ConfigMap volume "${volume}" in ${namespace}`)
    const map = await runtime.id.cluster.clients().core.readNamespacedConfigMap({namespace, name})
    return map.data ?? {}
  }

  /** Every Secret volume of the pod, written as the kubelet does (rewritten in place when it changes). */
  private async secretMounts(runtime: ClusterRuntime, namespace: string, spec: V1PodSpec, owner: string): Promise<Record<string, string>> {
    const mounts: Record<string, string> = {}
    for (const mount of spec.containers[0]?.volumeMounts ?? []) {
      const secretName = spec.volumes?.find((v) => v.name === mount.name)?.secret?.secretName
      if (!secretName) continue
      const secret = await ignoreStatus(runtime.id.cluster.clients().core.readNamespacedSecret({namespace, name: secretName}), 404)
      if (!secret) throw new Error(`${owner} mounts Secret ${namespace}/${secretName}, which does not exist yet`)
      const files = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
      const key = `${owner}/${mount.name}`
      const data = JSON.stringify(files)
      let held = runtime.secrets.get(key)
      if (!held) {
        held = {volume: new SecretVolume(path.join(runtime.dir, 'secrets', owner, mount.name)), data: ''}
        runtime.secrets.set(key, held)
      }
      if (held.data !== data) {
        held.volume.write(files)
        held.data = data
      }
      mounts[mount.mountPath] = held.volume.dir
    }
    return mounts
  }

  /** Start, or restart when what it runs with changed, one process. */
  private async process(
    runtime: ClusterRuntime,
    name: string,
    spec: {files: Record<string, string>; command: string; args: string[]; env?: Record<string, string>; serviceAccount?: string; ready: () => Promise<boolean>},
    wanted: Set<string>,
  ): Promise<void> {
    wanted.add(`process:${name}`)
    const hash = createHash('sha256')
      .update(JSON.stringify([spec.files, spec.command, spec.args, spec.env, spec.serviceAccount]))
      .digest('hex')
    const current = runtime.processes.get(name)
    if (current?.hash === hash) {
      if (!current.process.running) {
        this.note(`${runtime.label}: ${name} exited (${current.process.exits.at(-1) ?? '?'}), restarting`)
        await current.process.start()
      }
      return
    }
    if (current) {
      this.note(`${runtime.label}: ${name} changed, restarting it`)
      await current.process.stop(10_000)
    }
    for (const [file, content] of Object.entries(spec.files)) writeFile(file, content)
    // As a pod of the cluster: credentials minted for its ServiceAccount (once per start).
    const launch = spec.serviceAccount ? await runtime.kube.asPod(spec.serviceAccount, spec.command, spec.args) : {command: spec.command, args: spec.args, env: {}}
    const process = new ManagedProcess({
      name,
      command: launch.command,
      args: launch.args,
      env: {...spec.env, ...launch.env},
      logFile: path.join(runtime.dir, `${name}.log`),
      ready: spec.ready,
      readyTimeoutMs: 60_000,
    })
    runtime.processes.set(name, {hash, process})
    await process.start()
    this.note(`${runtime.label || `lke${runtime.id.lkeId}`}: ${name} running`)
  }

  /** The BERT workloads at work: a log record and a trace through the agent, a line in the container log. */
  private async sendTraffic(): Promise<void> {
    for (const runtime of this.runtimes.values()) {
      if (!runtime.agentHttp) continue
      for (const pod of runtime.bertPods) {
        const at = new Date().toISOString()
        try {
          await postJsonFrom(pod.ip, `${runtime.agentHttp}/v1/logs`, logsRequest({'service.name': 'bert-inference'}, [`inference request served at ${at}`]))
          await postJsonFrom(pod.ip, `${runtime.agentHttp}/v1/traces`, traceRequest({'service.name': 'bert-inference'}, {spans: 3, name: 'POST /predict'}).request)
        } catch {
          // the agent restarts or is not ready yet: the next round sends again
        }
        const file = path.join(runtime.podLogDir, `${pod.namespace}_${pod.name}_${pod.uid}`, pod.containers[0]!, '0.log')
        mkdirSync(path.dirname(file), {recursive: true})
        appendFileSync(file, `${at.replace('Z', '000000Z')} stdout F INFO predict batch=8 latency_ms=42\n`)
      }
    }
  }
}

function writeFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), {recursive: true})
  appendFileSync(file, '', {flag: 'w'})
  appendFileSync(file, content)
}

function podRef(pod: V1Pod, kube: AttachedKube): PodRef & {ip: string; node: string} {
  return {
    namespace: pod.metadata!.namespace!,
    name: pod.metadata!.name!,
    uid: pod.metadata!.uid!,
    containers: pod.spec!.containers.map((c) => c.name),
    ip: kube.toLocal(pod.status!.podIP!),
    node: pod.spec!.nodeName!,
  }
}

function serviceAccountOf(namespace: string, spec: V1PodSpec): string {
  return `${namespace}/${spec.serviceAccountName ?? 'default'}`
}

/** The container's arguments besides --config (feature gates ...). */
function collectorArgs(container: V1Container): string[] {
  return (container.args ?? []).filter((a) => !a.startsWith('--config='))
}

/** The container's environment as the kubelet resolves it (downward API; resource limits left out). */
function envOf(container: V1Container, pod: V1Pod, kube: AttachedKube): Record<string, string> {
  const env: Record<string, string> = {}
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value
    const field = variable.valueFrom?.fieldRef?.fieldPath
    if (field === 'metadata.name') env[variable.name] = pod.metadata!.name!
    else if (field === 'metadata.namespace') env[variable.name] = pod.metadata!.namespace!
    else if (field === 'spec.nodeName') env[variable.name] = pod.spec!.nodeName!
    else if (field === 'status.hostIP') env[variable.name] = LOOPBACK
    else if (field === 'status.podIP') env[variable.name] = kube.toLocal(pod.status!.podIP!)
  }
  return env
}

/** The cluster id the collectors stamp (cluster.id in the agent's or scraper's config), else lke<ID>. */
async function clusterLabel(runtime: ClusterRuntime): Promise<string> {
  const map = await ignoreStatus(runtime.id.cluster.clients().core.readNamespacedConfigMap({namespace: 'observability', name: 'otel-scraper-config'}), 404).catch(() => undefined)
  const id = /cluster\.id[\s\S]{0,80}?value: "?([a-z0-9-]+)"?/.exec(map?.data?.['config.yaml'] ?? '')?.[1]
  return id ?? ''
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), Number(address.slice(i + 1))]
}
