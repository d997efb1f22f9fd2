/**
 * The bridge between the fake Linode API and the test bed: every LKE cluster of the fake gets a
 * real test-bed cluster (started as soon as the fake has the cluster, handed out as its
 * kubeconfig, stopped when the fake deletes it); the nodes the fake reports ready become Node
 * objects; the cloud-controller and CSI stand-ins run against it.
 *
 * Wiring: the fake takes its kubeconfigs from the bridge, so the bridge exists first:
 *
 *   const bridge = createLinodeBridge(testbed)
 *   const fake = await startFakeLinode({kubeconfigFor: bridge.kubeconfigFor, ...})
 *   bridge.connect(fake)
 *
 * or startLinodeTestbed(), which does exactly that.
 */
import type {ApiCluster, FakeLinode, FakeLinodeOptions} from '../linode/server.js'
import {startFakeLinode} from '../linode/server.js'
import type {TestCluster} from './cluster.js'
import {ignoreStatus, reconcileLoop} from './kube.js'
import {startLoadBalancerController} from './load-balancers.js'
import {nodeName} from './nodes.js'
import {startTestbed, type Testbed, type TestbedOptions} from './testbed.js'
import {startVolumeController} from './volumes.js'

export interface LinodeBridge {
  /** For FakeLinodeOptions.kubeconfigFor: the kubeconfig of the test-bed cluster of that LKE cluster. */
  readonly kubeconfigFor: (cluster: ApiCluster) => Promise<string>
  /** Follow the fake from now on (call once, right after startFakeLinode). */
  connect(fake: FakeLinode): void
  /** The test-bed cluster of an LKE cluster, once started (waits for it to exist in the fake and start). */
  cluster(lkeId: number, timeoutMs?: number): Promise<TestCluster>
  /** The test-bed clusters running now, by LKE cluster id. */
  running(): Array<{lkeId: number; cluster: TestCluster}>
  /** Errors of the last round of each loop (cluster start-up failures stay here too). */
  errors(): string[]
  stop(): Promise<void>
}

interface Running {
  cluster: TestCluster
  controllers: {stop(): Promise<void>; lastError(): unknown}[]
}

interface Bound {
  lkeId: number
  started: Promise<Running>
  running?: Running
  error?: unknown
  /** Node names the bridge created, by the fake's node id. */
  nodes: Map<string, string>
}

export interface BridgeOptions {
  /** How often the fake is read for new clusters and ready nodes (default 200 ms). */
  intervalMs?: number
  /** How often the load-balancer and volume stand-ins reconcile each cluster (default 250 ms). */
  controllerIntervalMs?: number
  /** Each new cluster's node podCIDRs (the sandbox gives every cluster a pod network of its own). */
  podCidrFor?: (lkeId: number) => ((node: number) => string) | undefined
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export function createLinodeBridge(testbed: Testbed, options: BridgeOptions = {}): LinodeBridge {
  const bound = new Map<number, Bound>()
  let fake: FakeLinode | undefined
  let loop: ReturnType<typeof reconcileLoop> | undefined
  let stopped = false

  async function start(connected: FakeLinode, lkeId: number): Promise<Running> {
    const record = connected.state.clusters.get(lkeId)
    if (!record) throw new Error(`linode bridge: the fake has no LKE cluster ${lkeId}`)
    // The fake's kubeconfig token is the apiserver's admin token, so leak checks cover it.
    const podCidr = options.podCidrFor?.(lkeId)
    const cluster = await testbed.addCluster({name: `lke${lkeId}`, lkeId, region: record.region, token: record.kubeToken, ...(podCidr ? {podCidr} : {})})
    const controllerOptions = {cluster, fake: connected, lkeClusterId: lkeId, ...(options.controllerIntervalMs ? {intervalMs: options.controllerIntervalMs} : {})}
    return {cluster, controllers: [startLoadBalancerController(controllerOptions), startVolumeController(controllerOptions)]}
  }

  function bind(lkeId: number): Bound {
    const existing = bound.get(lkeId)
    if (existing) return existing
    if (!fake) throw new Error('linode bridge: connect(fake) first')
    const entry: Bound = {lkeId, nodes: new Map(), started: start(fake, lkeId)}
    entry.started.then(
      (running) => (entry.running = running),
      (error: unknown) => (entry.error = error),
    )
    bound.set(lkeId, entry)
    return entry
  }

  async function unbind(entry: Bound): Promise<void> {
    bound.delete(entry.lkeId)
    const running = await entry.started.catch(() => undefined)
    if (!running) return
    await Promise.all(running.controllers.map((c) => c.stop()))
    await testbed.removeCluster(running.cluster.name)
  }

  async function syncNodes(entry: Bound, view: ReturnType<FakeLinode['view']>): Promise<void> {
    const cluster = entry.running?.cluster
    if (!cluster) return
    const pools = new Map(view.pools.map((p) => [p.id, p]))
    const instances = new Map(view.instances.map((i) => [i.id, i]))
    const ready = view.nodes.filter((n) => n.clusterId === entry.lkeId && n.status === 'ready' && n.instance_id !== null)
    for (const node of ready) {
      if (entry.nodes.has(node.id)) continue
      const pool = pools.get(node.poolId)
      // The fake's node ids are <pool>-<10 hex>; LKE names end in 8.
      const suffix = node.id.slice(node.id.indexOf('-') + 1, node.id.indexOf('-') + 9)
      // The Linode's public IPv4 becomes the ExternalIP, as the CCM's node controller sets it.
      const externalIP = instances.get(node.instance_id!)?.ipv4.find((a) => !a.startsWith('192.168.'))
      const spec = {plan: node.type, poolId: node.poolId, instanceId: node.instance_id!, suffix, labels: pool?.labels ?? {}, taints: pool?.taints ?? [], ...(externalIP ? {externalIP} : {})}
      // 409: created in an earlier round whose answer got lost.
      await ignoreStatus(cluster.addNode(spec), 409)
      entry.nodes.set(node.id, nodeName(cluster.contextName, node.poolId, suffix))
    }
    const wanted = new Set(ready.map((n) => n.id))
    for (const [id, name] of entry.nodes) {
      if (wanted.has(id)) continue
      await cluster.removeNode(name)
      entry.nodes.delete(id)
    }
  }

  async function step(): Promise<void> {
    if (!fake) return
    const view = fake.view()
    const live = new Set(view.clusters.map((c) => c.id))
    for (const id of live) if (!bound.has(id)) bind(id)
    const errors: unknown[] = []
    for (const entry of [...bound.values()]) {
      try {
        if (!live.has(entry.lkeId)) await unbind(entry)
        else await syncNodes(entry, view)
      } catch (error) {
        errors.push(error)
      }
    }
    if (errors.length > 0) throw errors[0]
  }

  return {
    kubeconfigFor: async (cluster) => (await bind(cluster.id).started).cluster.kubeconfig,
    connect(connected) {
      if (fake) throw new Error('linode bridge: already connected')
      fake = connected
      loop = reconcileLoop(step, options.intervalMs ?? 200)
    },
    async cluster(lkeId, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs
      while (!bound.has(lkeId)) {
        if (Date.now() > deadline || stopped) throw new Error(`linode bridge: no test-bed cluster for LKE cluster ${lkeId}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return (await bound.get(lkeId)!.started).cluster
    },
    running() {
      return [...bound.values()].flatMap((b) => (b.running ? [{lkeId: b.lkeId, cluster: b.running.cluster}] : []))
    },
    errors() {
      const all = [loop?.lastError(), ...[...bound.values()].flatMap((b) => [b.error, ...(b.running?.controllers ?? []).map((c) => c.lastError())])]
      return all.filter((e) => e !== undefined).map(message)
    },
    async stop() {
      stopped = true
      await loop?.stop()
      await Promise.all([...bound.values()].map(unbind))
    },
  }
}

export interface LinodeTestbed {
  testbed: Testbed
  fake: FakeLinode
  bridge: LinodeBridge
  stop(): Promise<void>
}

/** A test bed, a fake Linode API whose LKE clusters are test-bed clusters, and the bridge between them. */
export async function startLinodeTestbed(options: {fake?: Omit<FakeLinodeOptions, 'kubeconfigFor'>; testbed?: TestbedOptions; bridge?: BridgeOptions} = {}): Promise<LinodeTestbed> {
  const testbed = await startTestbed(options.testbed)
  const bridge = createLinodeBridge(testbed, options.bridge)
  let fake: FakeLinode
  try {
    fake = await startFakeLinode({...options.fake, kubeconfigFor: bridge.kubeconfigFor})
  } catch (error) {
    await testbed.stop()
    throw error
  }
  bridge.connect(fake)
  return {
    testbed,
    fake,
    bridge,
    async stop() {
      await bridge.stop()
      await fake.close()
      await testbed.stop()
    },
  }
}
