import {Args, Flags} from '@oclif/core'
import type {ClusterSpec, Federation} from '../federation/model.js'
import {allClusters, findCluster} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import {UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {kubeFor} from './kube.js'

export const certsFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (else KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE', helpGroup: 'KUBERNETES'}),
  'hub-context': Flags.string({description: "The hub's kubeconfig context (default: its context: or fedobs-<hub>).", helpValue: 'NAME', helpGroup: 'KUBERNETES'}),
}

export const clusterArg = {cluster: Args.string({description: 'A cluster of the federation (an edge, or "hub").', required: false})}

/** A cluster of the federation by name (or "hub"), with a suggestion on a typo. */
export function clusterNamed(federation: Federation, name: string): ClusterSpec {
  const cluster = findCluster(federation, name)
  if (!cluster) {
    const names = allClusters(federation).map((c) => c.name)
    throw new UsageError(`no cluster named "${name}" in the federation`, {suggestions: closest(name, [...names, 'hub']), hint: `Clusters: ${names.join(', ')}.`, code: 'unknown-cluster'})
  }
  return cluster
}

export function hubKube(federation: Federation, flags: {kubeconfig?: string; 'hub-context'?: string}): Promise<Kube> {
  return kubeFor(federation.hub, {kubeconfig: flags.kubeconfig, context: flags['hub-context']})
}
