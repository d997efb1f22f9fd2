/** The hub gateway's external addresses, as the cloud controller writes them on its LoadBalancer Service. */
import type {Kube} from '../../kube/api.js'
import {NAMESPACES} from '../../render/render.js'

export async function gatewayAddress(kube: Kube): Promise<string | undefined> {
  return (await gatewayAddresses(kube))[0]
}

/** Every ingress address of the gateway LoadBalancer (what its certificate must cover). */
export async function gatewayAddresses(kube: Kube): Promise<string[]> {
  const service = await kube.read({apiVersion: 'v1', kind: 'Service', metadata: {name: 'otel-gateway-external', namespace: NAMESPACES.hub}})
  const ingress = (service?.status as {loadBalancer?: {ingress?: Array<{ip?: string; hostname?: string}>}} | undefined)?.loadBalancer?.ingress ?? []
  return ingress.flatMap((i) => [i.ip, i.hostname].filter((a): a is string => Boolean(a)))
}
