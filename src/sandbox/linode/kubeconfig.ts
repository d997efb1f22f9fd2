import {stringify} from 'yaml'

/** A kubeconfig shaped like LKE's: cluster `lke<ID>`, user `lke<ID>-admin` (token), context `lke<ID>-ctx`. */
export function lkeKubeconfig(clusterId: number, server: string, token: string): string {
  const cluster = `lke${clusterId}`
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{name: cluster, cluster: {server}}],
    users: [{name: `${cluster}-admin`, user: {token}}],
    contexts: [{name: `${cluster}-ctx`, context: {cluster, namespace: 'default', user: `${cluster}-admin`}}],
    'current-context': `${cluster}-ctx`,
  })
}
