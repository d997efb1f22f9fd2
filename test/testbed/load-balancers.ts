/**
 * A stand-in for the LoadBalancer part of Linode's cloud controller: a Service of type LoadBalancer
 * gets the cleanup finalizer, a NodeBalancer in the fake Linode (tags from its annotation) and that
 * NodeBalancer's IPv4 as its ingress IP. Deleting the Service (or changing its type) deletes the
 * NodeBalancer, then lets the Service go.
 */
import type {V1Service} from '@kubernetes/client-node'
import type {ApiNodeBalancer, FakeLinode} from '../fake-linode/server.js'
import type {TestCluster} from './cluster.js'
import {ignoreStatus, reconcileLoop} from './kube.js'

export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup'
export const LB_TAGS_ANNOTATION = 'service.beta.kubernetes.io/linode-loadbalancer-tags'

/** Derived from the Service's UID, so a restarted controller finds its NodeBalancers again. */
export const nodeBalancerLabel = (service: V1Service): string => `ccm-${service.metadata!.uid!.replaceAll('-', '')}`.slice(0, 32)

function tagsOf(service: V1Service): string[] {
  const raw = service.metadata?.annotations?.[LB_TAGS_ANNOTATION] ?? ''
  return [...new Set(raw.split(',').map((t) => t.trim()).filter(Boolean))]
}

export interface ControllerOptions {
  cluster: TestCluster
  fake: FakeLinode
  /** The LKE cluster id in the fake that owns what this controller creates. */
  lkeClusterId: number
  intervalMs?: number
}

export function startLoadBalancerController(options: ControllerOptions): {stop(): Promise<void>; lastError(): unknown} {
  const {fake, lkeClusterId} = options
  const {core} = options.cluster.clients()

  const find = (service: V1Service): ApiNodeBalancer | undefined => {
    const label = nodeBalancerLabel(service)
    return [...fake.state.nodeBalancers.values()].find((nb) => nb.label === label && nb.lke_cluster?.id === lkeClusterId)
  }

  async function release(service: V1Service): Promise<void> {
    const nodeBalancer = find(service)
    if (nodeBalancer) fake.removeNodeBalancer(nodeBalancer.id)
    const {name, namespace} = service.metadata as {name: string; namespace: string}
    const finalizers = (service.metadata!.finalizers ?? []).filter((f) => f !== LB_FINALIZER)
    const updated = await ignoreStatus(core.replaceNamespacedService({name, namespace, body: {...service, metadata: {...service.metadata, finalizers}}}), 404)
    if (updated && service.spec?.type !== 'LoadBalancer' && updated.status?.loadBalancer?.ingress?.length) {
      await core.replaceNamespacedServiceStatus({name, namespace, body: {...updated, status: {...updated.status, loadBalancer: {}}}})
    }
  }

  async function ensure(service: V1Service): Promise<void> {
    const {name, namespace} = service.metadata as {name: string; namespace: string}
    let current = service
    if (!current.metadata!.finalizers?.includes(LB_FINALIZER)) {
      const finalizers = [...(current.metadata!.finalizers ?? []), LB_FINALIZER]
      current = await core.replaceNamespacedService({name, namespace, body: {...current, metadata: {...current.metadata, finalizers}}})
    }
    const nodeBalancer = find(current) ?? fake.addNodeBalancer({clusterId: lkeClusterId, label: nodeBalancerLabel(current), tags: tagsOf(current)})
    if (current.status?.loadBalancer?.ingress?.[0]?.ip !== nodeBalancer.ipv4) {
      await core.replaceNamespacedServiceStatus({name, namespace, body: {...current, status: {...current.status, loadBalancer: {ingress: [{ip: nodeBalancer.ipv4, ipMode: 'VIP'}]}}}})
    }
  }

  return reconcileLoop(async () => {
    const services = await core.listServiceForAllNamespaces()
    const errors: unknown[] = []
    for (const service of services.items) {
      const ours = service.metadata?.finalizers?.includes(LB_FINALIZER) ?? false
      const wanted = service.spec?.type === 'LoadBalancer' && !service.metadata?.deletionTimestamp
      try {
        if (wanted) await ensure(service)
        else if (ours) await release(service)
      } catch (error) {
        errors.push(error) // a conflict: the next round sees the newer object
      }
    }
    if (errors.length > 0) throw errors[0]
  }, options.intervalMs ?? 250)
}
