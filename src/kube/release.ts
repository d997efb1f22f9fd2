/**
 * Before an LKE cluster is deleted, delete what makes the cloud controller and the CSI driver hold
 * Linode resources: LoadBalancer Services (NodeBalancers) and PersistentVolumeClaims (volumes).
 * LKE does not delete those with the cluster (linode-cloud-controller-manager issue #140).
 */
export interface ReleasePlan {
  loadBalancers: Array<{namespace: string; name: string; ip?: string}>
  claims: Array<{namespace: string; name: string; volume?: string}>
}

export interface ReleaseResult extends ReleasePlan {
  reachable: boolean
  error?: string
}

export async function planRelease(kubeconfigFile: string, timeoutSeconds = 15): Promise<ReleaseResult> {
  try {
    const {core} = await clients(kubeconfigFile)
    const [services, claims] = await Promise.all([core.listServiceForAllNamespaces({timeoutSeconds}), core.listPersistentVolumeClaimForAllNamespaces({timeoutSeconds})])
    return {
      reachable: true,
      loadBalancers: services.items
        .filter((s) => s.spec?.type === 'LoadBalancer')
        .map((s) => ({namespace: s.metadata!.namespace!, name: s.metadata!.name!, ...(s.status?.loadBalancer?.ingress?.[0]?.ip ? {ip: s.status.loadBalancer.ingress[0].ip} : {})})),
      claims: claims.items.map((c) => ({namespace: c.metadata!.namespace!, name: c.metadata!.name!, ...(c.spec?.volumeName ? {volume: c.spec.volumeName} : {})})),
    }
  } catch (error) {
    return {reachable: false, error: describe(error), loadBalancers: [], claims: []}
  }
}

export async function release(kubeconfigFile: string, plan: ReleasePlan): Promise<void> {
  const {core} = await clients(kubeconfigFile)
  await Promise.all([
    ...plan.loadBalancers.map((s) => ignoreNotFound(core.deleteNamespacedService({name: s.name, namespace: s.namespace}))),
    ...plan.claims.map((c) => ignoreNotFound(core.deleteNamespacedPersistentVolumeClaim({name: c.name, namespace: c.namespace}))),
  ])
}

async function clients(kubeconfigFile: string) {
  const k8s = await import('@kubernetes/client-node')
  const config = new k8s.KubeConfig()
  config.loadFromFile(kubeconfigFile)
  return {core: config.makeApiClient(k8s.CoreV1Api)}
}

async function ignoreNotFound(promise: Promise<unknown>): Promise<void> {
  try {
    await promise
  } catch (error) {
    if ((error as {code?: number}).code !== 404) throw error
  }
}

/** A short reason without request details (no headers, no tokens). */
function describe(error: unknown): string {
  const e = error as {code?: number | string; cause?: {code?: string}; message?: string}
  if (typeof e?.code === 'number') return `HTTP ${e.code}`
  return e?.cause?.code ?? e?.code ?? 'unreachable'
}
