/** The parts of Linode API objects fedobs reads (the API has more). */
export interface ApiRegion {
  id: string
  label: string
  country: string
  capabilities: string[]
  status: string
}

export interface ApiType {
  id: string
  label: string
  class: string
  gpus: number
  memory: number
  vcpus: number
}

export interface ApiPoolNode {
  id: string
  instance_id: number | null
  status: 'ready' | 'not_ready' | (string & {})
}

export interface ApiPool {
  id: number
  type: string
  count: number
  nodes: ApiPoolNode[]
  autoscaler: {enabled: boolean; min: number; max: number}
  tags?: string[]
}

export interface ApiCluster {
  id: number
  label: string
  region: string
  k8s_version: string
  status: string
  tags: string[]
  created: string
  updated: string
  control_plane?: {high_availability?: boolean}
}

export interface ApiKubeconfig {
  kubeconfig: string
}

export interface ApiNodeBalancer {
  id: number
  label: string
  region: string
  tags: string[]
  lke_cluster: {id: number; label: string; type: string; url: string} | null
  ipv4?: string
}

/** A Linode (compute instance): what fedobs reads of GET /linode/instances. */
export interface ApiInstance {
  id: number
  label: string
  /** Public and private IPv4 addresses, without a prefix length. */
  ipv4: string[]
  /** The SLAAC address with its /128, or null when the Linode has none. */
  ipv6: string | null
  lke_cluster_id: number | null
}

export interface ApiVolume {
  id: number
  label: string
  region: string
  size: number
  status: string
  tags: string[]
  linode_id: number | null
}

export interface PoolPayload {
  type: string
  count: number
  autoscaler?: {enabled: boolean; min: number; max: number}
  tags?: string[]
}

export interface ClusterPayload {
  label: string
  region: string
  k8s_version: string
  node_pools: PoolPayload[]
  tags: string[]
  control_plane?: {
    high_availability?: boolean
    acl?: {enabled: boolean; addresses: {ipv4?: string[]; ipv6?: string[]}}
  }
}
