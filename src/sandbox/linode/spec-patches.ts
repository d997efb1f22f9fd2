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
export const NODEBALANCER_FIREWALLS = '/{apiVersion}/nodebalancers/{nodeBalancerId}/firewalls'
export const INSTANCES = '/{apiVersion}/linode/instances'
export const INSTANCE = '/{apiVersion}/linode/instances/{linodeId}'
export const FIREWALLS = '/{apiVersion}/networking/firewalls'
export const FIREWALL = '/{apiVersion}/networking/firewalls/{firewallId}'
export const FIREWALL_RULES = '/{apiVersion}/networking/firewalls/{firewallId}/rules'
export const FIREWALL_DEVICES = '/{apiVersion}/networking/firewalls/{firewallId}/devices'
export const FIREWALL_DEVICE = '/{apiVersion}/networking/firewalls/{firewallId}/devices/{deviceId}'

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
const listItems = (path: string): string[] => [...json200(path, 'get'), 'properties', 'data', 'items']

function allOfPart(schema: JsonObject, index: number): JsonObject {
  const parts = get(schema, ['allOf'])
  const part = Array.isArray(parts) ? parts[index] : undefined
  if (!isObject(part)) throw new Error(`spec patch: allOf[${index}] not found`)
  return part
}

/**
 * Firewall objects in answers: the list items, the create/read/update answers, and the items of
 * GET /nodebalancers/{id}/firewalls (once the patch that makes that answer one object has run).
 */
function firewallAnswers(spec: JsonObject): JsonObject[] {
  return [at(spec, listItems(FIREWALLS)), at(spec, listItems(NODEBALANCER_FIREWALLS)), at(spec, json200(FIREWALLS, 'post')), at(spec, json200(FIREWALL, 'get')), at(spec, json200(FIREWALL, 'put'))]
}

/** Rule sets in answers: inside each firewall, and GET/PUT .../rules. */
function ruleSetAnswers(spec: JsonObject): JsonObject[] {
  return [...firewallAnswers(spec).map((f) => at(f, ['properties', 'rules'])), at(spec, json200(FIREWALL_RULES, 'get')), at(spec, json200(FIREWALL_RULES, 'put'))]
}

/** Rule sets in requests: the create body's `rules` (once the patch that merges that body has run) and the PUT .../rules body. */
function ruleSetRequests(spec: JsonObject): JsonObject[] {
  return [at(spec, [...requestBody(FIREWALLS, 'post'), 'properties', 'rules']), allOfPart(at(spec, requestBody(FIREWALL_RULES, 'put')), 0)]
}

const directions = ['inbound', 'outbound'] as const

/**
 * The complete check requires every name under `properties`; a name under `patternProperties`
 * (anchored to that exact name) stays optional while additionalProperties: false still accepts it.
 */
function optionalInAnswers(schema: JsonObject, names: string[]): void {
  const properties = props(schema)
  const pattern: JsonObject = isObject(schema.patternProperties) ? schema.patternProperties : {}
  for (const name of names) {
    const property = properties[name]
    if (property === undefined) throw new Error(`spec patch: property ${name} not found`)
    pattern[`^${name}$`] = property
  }
  schema.properties = Object.fromEntries(Object.entries(properties).filter(([name]) => !names.includes(name)))
  schema.patternProperties = pattern
}

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
      // Also the pool that POST .../pools (add a pool) and PUT .../pools/{poolId} (resize, autoscaler) answer.
      for (const pool of [at(spec, json200(POOL, 'get')), at(spec, [...json200(POOLS, 'get'), 'properties', 'data', 'items']), at(spec, json200(POOLS, 'post')), at(spec, json200(POOL, 'put'))]) {
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
        at(spec, json200(POOLS, 'post')),
        at(spec, json200(POOL, 'put')),
        at(spec, requestBody(POOL, 'put')),
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
  {
    // Fixture TestNodeBalancerFirewalls_List.yaml (linode/linodego, GET /nodebalancers/1774421/firewalls):
    // one page {data, page, pages, results}. The spec's allOf[{page, pages, results} closed, {data}]
    // rejects `data`, so every answer fails.
    why: 'GET /nodebalancers/{id}/firewalls answers one page object {data, page, pages, results}',
    apply(spec) {
      const media = at(spec, ['paths', NODEBALANCER_FIREWALLS, 'get', 'responses', '200', 'content', 'application/json'])
      const published = at(media, ['schema'])
      const merged = structuredClone(allOfPart(published, 0))
      props(merged).data = structuredClone(get(allOfPart(published, 1), ['properties', 'data']))
      media.schema = merged
    },
  },
  {
    // linodego FirewallCreateOptions {label, rules{inbound, inbound_policy, outbound, outbound_policy},
    // tags, devices} is what the API takes (fixture TestFirewall_Get.yaml: that POST answered 200). The
    // published body is allOf[the firewall object, closed: no `devices`] plus a `rules` override closed
    // to inbound/outbound, so every valid body fails with "rules.inbound_policy is not a recognized
    // field" (and "devices is not a recognized field").
    why: 'POST /networking/firewalls takes label, tags, rules (with both policies) and devices: one object, not two closed allOf parts',
    apply(spec) {
      const media = at(spec, ['paths', FIREWALLS, 'post', 'requestBody', 'content', 'application/json'])
      const published = at(media, ['schema'])
      const merged = structuredClone(allOfPart(published, 0))
      props(merged).devices = structuredClone(get(published, ['properties', 'devices']))
      merged.required = structuredClone(get(published, ['required']))
      at(merged, ['properties', 'rules']).required = structuredClone(get(published, ['properties', 'rules', 'required']))
      media.schema = merged
    },
  },
  {
    // The spec puts `required: [action, addresses, protocol]` on the inbound/outbound arrays (PUT
    // .../rules, and the create body before the patch above), where JSON Schema ignores it: it is
    // meant for each rule, and the API refuses a rule without them.
    why: 'firewall rule requests: action, addresses and protocol are required on each rule, not on the rule list',
    apply(spec) {
      const put = at(spec, requestBody(FIREWALL_RULES, 'put'))
      const required = structuredClone(get(put, ['properties', 'inbound', 'required']))
      delete put.properties
      for (const ruleSet of ruleSetRequests(spec)) for (const d of directions) at(ruleSet, ['properties', d, 'items']).required = structuredClone(required)
    },
  },
  {
    // linodego sends `"outbound": null` for a rule set without outbound rules (FirewallRulesCreateOptions
    // and FirewallRuleSet have no omitempty; the CCM never sets outbound) and the API keeps and answers
    // null: fixture TestFirewall_Get.yaml, request `"outbound":null`, answer `"outbound": null`.
    why: 'firewall rule lists (inbound, outbound) may be null in requests and answers',
    apply(spec) {
      for (const ruleSet of [...ruleSetRequests(spec), ...ruleSetAnswers(spec)]) for (const d of directions) at(ruleSet, ['properties', d]).nullable = true
    },
  },
  {
    // Fixture TestNodeBalancerFirewalls_List.yaml: the rule {"protocol": "TCP", "addresses": {"ipv4":
    // ["192.0.2.0/32"]}, "action": "ACCEPT", "label": "...", "ports": "22"} has no description and no
    // ipv6; TestFirewall_Get.yaml's ICMP rule has no ports. The API leaves out what was not set.
    why: 'firewall rules in answers carry description, label, ports and addresses.ipv4/ipv6 only when set',
    apply(spec) {
      for (const ruleSet of ruleSetAnswers(spec)) {
        for (const d of directions) {
          const rule = at(ruleSet, ['properties', d, 'items'])
          optionalInAnswers(rule, ['description', 'label', 'ports'])
          const addresses = at(rule, ['properties', 'addresses'])
          optionalInAnswers(addresses, ['ipv4', 'ipv6'])
          addresses.minProperties = 1
        }
      }
    },
  },
  {
    // linodego Firewall.Entities and FirewallDeviceEntity{id, type, label *string, url, parent_entity};
    // fixture TestNodeBalancerFirewalls_List.yaml: "entities": [{"id": 1774421, "type": "nodebalancer",
    // "label": "go-test-def", "url": "/v4/nodebalancers/1774421", "parent_entity": null}];
    // TestFirewallDevice_Get.yaml: the device's entity has "parent_entity": null and a relative url,
    // which the spec's `format: url` refuses.
    why: 'firewalls carry `entities`; device entities carry `parent_entity`; entity urls are relative (/v4/nodebalancers/N)',
    apply(spec) {
      const deviceEntities = [
        at(spec, [...listItems(FIREWALL_DEVICES), 'properties', 'entity']),
        at(spec, [...json200(FIREWALL_DEVICES, 'post'), 'properties', 'entity']),
        at(spec, [...json200(FIREWALL_DEVICE, 'get'), 'properties', 'entity']),
      ]
      for (const entity of deviceEntities) {
        const properties = props(entity)
        at(properties, ['url'])
        properties.url = {type: 'string', pattern: '^/v4(beta)?/'}
        properties.label = {type: 'string', nullable: true}
        properties.parent_entity = {type: 'object', nullable: true}
      }
      const {readOnly: _, ...entity} = structuredClone(deviceEntities[2]!)
      for (const firewall of firewallAnswers(spec)) props(firewall).entities = {type: 'array', items: structuredClone(entity)}
    },
  },
  {
    // Fixture TestLKENodePool_GetFound.yaml, GET /linode/instances/94907010 (an LKE node):
    // "backups": {"enabled": true, "available": true, "schedule": {...}, "last_successful": null}.
    why: 'Linode `backups.last_successful` is null until a backup has run',
    apply(spec) {
      for (const instance of [at(spec, json200(INSTANCE, 'get')), at(spec, listItems(INSTANCES))]) {
        at(instance, ['properties', 'backups', 'properties', 'last_successful']).nullable = true
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
