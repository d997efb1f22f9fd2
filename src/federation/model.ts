/** The federation as the rest of fedobs sees it: validated, defaults applied. */
export type Role = 'hub' | 'edge'

export interface NodePool {
  type: string
  count: number
  autoscaler?: {min: number; max: number}
}

export interface ClusterSpec {
  name: string
  role: Role
  region?: string
  k8sVersion: string
  pools: NodePool[]
  tags: string[]
  highAvailability: boolean
  controlPlaneAcl: string[]
  /** True when any pool is a GPU plan, unless overridden in the file or by --gpu/--no-gpu. */
  gpu: boolean
  context?: string
}

export interface TelemetrySpec {
  retention: string
  scrapeInterval: string
  outOfOrderWindow: string
  storageClass: string
  /** agentQueue: disk budget of each persistent sending queue of an agent or scraper (one per signal). */
  storage: {prometheus: string; loki: string; tempo: string; gatewayQueue: string; agentQueue: string}
  queue: {size: number}
  gateway: {
    replicas: number
    autoscaling: {enabled: boolean; minReplicas: number; maxReplicas: number; targetCPUUtilization: number}
    allowedSources: string[]
    endpoint?: string
  }
}

export interface InferenceSpec {
  enabled: boolean
  image?: string
  replicas: number
  gpusPerReplica: number
}

/** An extra PII pattern of the federation file: what matches `regex` (RE2) is replaced. */
export interface PiiPattern {
  name: string
  regex: string
  replacement?: string
}

export interface SecuritySpec {
  /** mTLS and per-cluster identity between the collectors and the hub gateway (default on). */
  mtls: boolean
  certificates: {validity: string; renewBefore: string}
  pii: {enabled: boolean; allowKeys: string[]; patterns: PiiPattern[]}
}

export interface Federation {
  name: string
  /** Path of the federation file, or undefined when built from flags alone. */
  source?: string
  hub: ClusterSpec
  edges: ClusterSpec[]
  telemetry: TelemetrySpec
  inference: InferenceSpec
  security: SecuritySpec
}

/** Linode GPU plans carry "gpu" in their id (g1-gpu-rtx6000-1, g2-gpu-rtx4000a1-s, ...). */
export function isGpuPlan(type: string): boolean {
  return /(^|-)gpu(-|$)/.test(type)
}

export function allClusters(federation: Federation): ClusterSpec[] {
  return [federation.hub, ...federation.edges]
}

/** Find a cluster by its name, or the hub by the word "hub". */
export function findCluster(federation: Federation, name: string): ClusterSpec | undefined {
  return allClusters(federation).find((c) => c.name === name) ?? (name === 'hub' ? federation.hub : undefined)
}
