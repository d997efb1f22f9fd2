import type {FromSchema} from 'json-schema-to-ts'
import type {federationSchema} from './schema.js'

/**
 * The federation file as Ajv leaves it after validation: every field with a `default` in schema.ts is
 * filled in. Derived from the schema, never written by hand: add or change a field in schema.ts only.
 */
export type FederationFile = FromSchema<typeof federationSchema>
type ClusterFile = FederationFile['hub']

export type Role = 'hub' | 'edge'

export type NodePool = NonNullable<ClusterFile['pools']>[number]

/** A cluster of the federation: the file's fields with defaults, plus what fedobs works out. */
export type ClusterSpec = Omit<ClusterFile, 'pools' | 'gpu'> & {
  role: Role
  pools: NodePool[]
  /** True when any pool is a GPU plan, unless overridden in the file or by --gpu/--no-gpu. */
  gpu: boolean
}

export type TelemetrySpec = FederationFile['telemetry']
export type InferenceSpec = FederationFile['inference']
export type SecuritySpec = FederationFile['security']
/** An extra PII pattern of the federation file: what matches `regex` (RE2) is replaced. */
export type PiiPattern = SecuritySpec['pii']['patterns'][number]

/** The federation as the rest of fedobs sees it: validated, defaults applied. */
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
