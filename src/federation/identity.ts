import type {Role} from './model.js'

/**
 * Linode tags fedobs puts on what it creates (clusters, NodeBalancers, volumes), so that list,
 * delete and teardown find exactly its own resources. Each fits Linode's 50-character tag limit
 * (names are at most 32).
 */
export const FEDOBS_TAG = 'fedobs'

export function federationTag(federation: string): string {
  return `fedobs-federation:${federation}`
}

export function roleTag(role: Role): string {
  return `fedobs-role:${role}`
}

export function clusterTag(cluster: string): string {
  return `fedobs-cluster:${cluster}`
}

export function roleFromTags(tags: readonly string[]): Role | undefined {
  const tag = tags.find((t) => t.startsWith('fedobs-role:'))
  const role = tag?.slice('fedobs-role:'.length)
  return role === 'hub' || role === 'edge' ? role : undefined
}

/**
 * Issuer of a federation's identity tokens: the `iss` of every token and the gateway's oidc
 * `issuer_url` (never fetched: the gateway reads the keys from a local JWKS file).
 */
export function tokenIssuer(federation: string): string {
  return `https://fedobs.invalid/federations/${federation}`
}
