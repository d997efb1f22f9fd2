/**
 * Where the published spec (v4.189.0) disagrees with what the API really sends or accepts.
 * Each patch names the exact schema spot and throws if that spot is gone, so a spec upgrade
 * makes us look again instead of silently validating against something else.
 */
import {isObject, type Json, type JsonObject} from './openapi.js'

export const CLUSTERS = '/{apiVersion}/lke/clusters'
export const CLUSTER = '/{apiVersion}/lke/clusters/{clusterId}'
export const POOLS = '/{apiVersion}/lke/clusters/{clusterId}/pools'
export const POOL = '/{apiVersion}/lke/clusters/{clusterId}/pools/{poolId}'
export const NODEBALANCERS = '/{apiVersion}/nodebalancers'
export const NODEBALANCER = '/{apiVersion}/nodebalancers/{nodeBalancerId}'

function get(root: JsonObject, path: string[]): Json {
  let node: Json = root
  for (const key of path) {
    node = isObject(node) ? (node[key] ?? null) : null
    if (node === null) throw new Error(`spec patch: ${path.join(' → ')} not found (at ${key})`)
  }
  return node
}

function at(root: JsonObject, path: string[]): JsonObject {
  const node = get(root, path)
  if (!isObject(node)) throw new Error(`spec patch: ${path.join(' → ')} is not an object`)
  return node
}

const json200 = (path: string, method: string) => ['paths', path, method, 'responses', '200', 'content', 'application/json', 'schema']
const requestBody = (path: string, method: string) => ['paths', path, method, 'requestBody', 'content', 'application/json', 'schema']
const props = (schema: JsonObject): JsonObject => at(schema, ['properties'])

export interface SpecPatch {
  why: string
  apply(spec: JsonObject): void
}

export const SPEC_PATCHES: SpecPatch[] = [
  {
    // linodego LKEClusterStatus and @linode/api-v4 KubernetesCluster.status; the spec has no status.
    why: 'LKE cluster objects carry `status` ("ready" | "not_ready"), absent from the spec',
    apply(spec) {
      const single = at(spec, json200(CLUSTER, 'get'))
      const listItem = at(spec, [...json200(CLUSTERS, 'get'), 'properties', 'data', 'items'])
      for (const cluster of [single, listItem]) props(cluster).status = {type: 'string', enum: ['ready', 'not_ready']}
    },
  },
  {
    // The POST/PUT answers are the whole cluster (id, control_plane, status); the spec lists a subset
    // with additionalProperties: false, which would reject the id every client needs.
    why: 'POST /lke/clusters and PUT /lke/clusters/{id} answer the full cluster object',
    apply(spec) {
      const full = structuredClone(at(spec, json200(CLUSTER, 'get')))
      at(spec, ['paths', CLUSTERS, 'post', 'responses', '200', 'content', 'application/json']).schema = full
      at(spec, ['paths', CLUSTER, 'put', 'responses', '200', 'content', 'application/json']).schema = structuredClone(full)
    },
  },
  {
    why: 'pool node `instance_id` is an integer, null until the Linode exists (spec: non-null string)',
    apply(spec) {
      const nodeOf = (pool: JsonObject) => at(pool, ['properties', 'nodes', 'items', 'properties'])
      for (const pool of [at(spec, json200(POOL, 'get')), at(spec, [...json200(POOLS, 'get'), 'properties', 'data', 'items'])]) {
        nodeOf(pool).instance_id = {type: 'integer', nullable: true}
      }
    },
  },
  {
    // The spec describes one {key, value} entry as an object with additionalProperties: false,
    // so any real label map (`{"example.com/app": "web"}`) would be rejected.
    why: 'node pool `labels` is a map of string → string (spec: a closed object with properties key/value)',
    apply(spec) {
      const labels = {type: 'object', additionalProperties: {type: 'string', maxLength: 63}}
      const pools = [
        at(spec, [...requestBody(CLUSTERS, 'post'), 'properties', 'node_pools', 'items']),
        at(spec, json200(POOL, 'get')),
        at(spec, [...json200(POOLS, 'get'), 'properties', 'data', 'items']),
      ]
      for (const pool of pools) {
        at(pool, ['properties', 'labels', 'properties', 'key'])
        props(pool).labels = structuredClone(labels)
      }
    },
  },
  {
    // @linode/api-v4 NodeBalancer.lke_cluster; the CCM's NodeBalancers are found by it.
    why: 'NodeBalancers carry `lke_cluster` ({id, label, type: "lkecluster", url} or null), absent from the spec',
    apply(spec) {
      const lkeCluster = {
        type: 'object',
        nullable: true,
        additionalProperties: false,
        required: ['id', 'label', 'type', 'url'],
        properties: {id: {type: 'integer'}, label: {type: 'string'}, type: {type: 'string', enum: ['lkecluster']}, url: {type: 'string'}},
      }
      for (const nb of [at(spec, json200(NODEBALANCER, 'get')), at(spec, [...json200(NODEBALANCERS, 'get'), 'properties', 'data', 'items'])]) {
        props(nb).lke_cluster = structuredClone(lkeCluster)
      }
    },
  },
]

export function applySpecPatches(spec: JsonObject): JsonObject {
  for (const patch of SPEC_PATCHES) patch.apply(spec)
  return spec
}

/**
 * The X-Filter header schema. The spec declares it on GET /linode/instances only, as a oneOf of
 * "any object" and "the +operator object": a `{"+and": [...]}` filter matches both branches and so
 * fails oneOf. The API accepts X-Filter on every collection, so it is anyOf, on every list GET.
 */
export function xFilterSchema(spec: JsonObject): JsonObject {
  const params = get(spec, ['paths', '/{apiVersion}/linode/instances', 'get', 'parameters'])
  const header = Array.isArray(params) ? params.find((p) => isObject(p) && p.name === 'X-Filter') : undefined
  if (!isObject(header) || !isObject(header.schema) || !Array.isArray(header.schema.oneOf)) throw new Error('spec patch: X-Filter schema not found')
  const {oneOf, ...rest} = header.schema
  return {...rest, anyOf: oneOf}
}

/**
 * Pagination parameters. Only some list operations declare `page`/`page_size` (e.g. GET
 * /nodebalancers, /volumes; not /lke/clusters, /regions), yet every collection paginates: the
 * components' `page-offset` and `page-size` apply to every GET whose answer has `pages`.
 */
export function paginationParameters(spec: JsonObject): JsonObject[] {
  return [at(spec, ['components', 'parameters', 'page-offset']), at(spec, ['components', 'parameters', 'page-size'])]
}
