import type {ClusterSpec, Federation} from '../federation/model.js'
import type {K8sObject} from './render.js'

/**
 * The NetworkPolicies of one cluster: default-deny ingress and egress in every namespace fedobs
 * owns, plus exactly the flows the system needs. (Filled in by the network-policy work.)
 */
export function networkPolicies(_federation: Federation, _cluster: ClusterSpec, _namespaces: string[]): K8sObject[] {
  return []
}
