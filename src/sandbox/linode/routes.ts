/** The operations the fake serves, each keyed by the spec's method and path template. */
import {ApiFailure, notFound, type ApiCluster, type ClusterInput, type ClusterRecord, type DeviceType, type FakeCloud, type FirewallInput, type FirewallRulesInput, type PoolInput} from './cloud.js'
import {FilterError, applyFilter, paginate, type Page} from './filter.js'
import type {Fixtures} from './fixtures.js'
import type {JsonObject} from './openapi.js'
import {filterableFields} from './spec.js'

export interface Reply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface RouteContext {
  cloud: FakeCloud
  fixtures: Fixtures
  /** Path and query parameters, already checked and coerced against the spec. */
  path: Record<string, unknown>
  query: Record<string, unknown>
  filter?: JsonObject
  body: unknown
  kubeconfig(cluster: ClusterRecord): Promise<string>
}

export interface Route {
  method: string
  template: string
  handle(ctx: RouteContext, route: Route): Reply | Promise<Reply>
}

const ok = (body: unknown): Reply => ({status: 200, body})

function list(ctx: RouteContext, route: Route, items: object[]): Reply {
  let kept: object[]
  try {
    kept = applyFilter(items, ctx.filter, filterableFields(route.method, route.template))
  } catch (error) {
    if (error instanceof FilterError) throw new ApiFailure(400, [{field: 'X-Filter', reason: error.message}])
    throw error
  }
  const page: Page<object> = paginate(kept, ctx.query.page as number | undefined, ctx.query.page_size as number | undefined)
  return ok(page)
}

const id = (ctx: RouteContext, name: string): number => ctx.path[name] as number

function notYet(retryAfter: number, what: string): Reply {
  return {status: 503, body: {errors: [{reason: `${what} is not yet available. Please try again later.`}]}, headers: {'Retry-After': String(Math.max(1, Math.round(retryAfter)))}}
}

function clusterWith(ctx: RouteContext): {cluster: ClusterRecord; view: ApiCluster} {
  const cluster = ctx.cloud.cluster(id(ctx, 'clusterId'))
  return {cluster, view: ctx.cloud.clusterView(cluster)}
}

export const ROUTES: Route[] = [
  {method: 'GET', template: '/regions', handle: (ctx, r) => list(ctx, r, ctx.fixtures.regions)},
  {method: 'GET', template: '/lke/versions', handle: (ctx, r) => list(ctx, r, ctx.fixtures.kubernetesVersions)},
  {method: 'GET', template: '/lke/types', handle: (ctx, r) => list(ctx, r, ctx.fixtures.lkeTypes)},
  {method: 'GET', template: '/linode/types', handle: (ctx, r) => list(ctx, r, ctx.fixtures.linodeTypes)},

  {
    method: 'GET',
    template: '/lke/clusters',
    handle: (ctx, r) =>
      list(
        ctx,
        r,
        [...ctx.cloud.clusters.values()].map((c) => ctx.cloud.clusterView(c)),
      ),
  },
  {method: 'POST', template: '/lke/clusters', handle: (ctx) => ok(ctx.cloud.clusterView(ctx.cloud.createCluster(ctx.body as ClusterInput)))},
  {method: 'GET', template: '/lke/clusters/{clusterId}', handle: (ctx) => ok(clusterWith(ctx).view)},
  {
    method: 'PUT',
    template: '/lke/clusters/{clusterId}',
    handle: (ctx) => ok(ctx.cloud.clusterView(ctx.cloud.updateCluster(id(ctx, 'clusterId'), ctx.body as Parameters<FakeCloud['updateCluster']>[1]))),
  },
  {
    method: 'DELETE',
    template: '/lke/clusters/{clusterId}',
    handle: (ctx) => {
      ctx.cloud.deleteCluster(id(ctx, 'clusterId'))
      return ok({})
    },
  },
  {
    method: 'GET',
    template: '/lke/clusters/{clusterId}/pools',
    handle: (ctx, r) =>
      list(
        ctx,
        r,
        ctx.cloud.clusterPools(clusterWith(ctx).cluster.id).map((p) => ctx.cloud.poolView(p)),
      ),
  },
  {
    method: 'POST',
    template: '/lke/clusters/{clusterId}/pools',
    handle: (ctx) => ok(ctx.cloud.poolView(ctx.cloud.createPool(clusterWith(ctx).cluster.id, ctx.body as PoolInput))),
  },
  {
    method: 'GET',
    template: '/lke/clusters/{clusterId}/pools/{poolId}',
    handle: (ctx) => {
      const pool = ctx.cloud.pools.get(id(ctx, 'poolId'))
      if (!pool || pool.clusterId !== clusterWith(ctx).cluster.id) throw notFound()
      return ok(ctx.cloud.poolView(pool))
    },
  },
  {
    method: 'PUT',
    template: '/lke/clusters/{clusterId}/pools/{poolId}',
    handle: (ctx) => ok(ctx.cloud.poolView(ctx.cloud.updatePool(id(ctx, 'clusterId'), id(ctx, 'poolId'), ctx.body as Parameters<FakeCloud['updatePool']>[2]))),
  },
  {
    method: 'DELETE',
    template: '/lke/clusters/{clusterId}/pools/{poolId}',
    handle: (ctx) => {
      ctx.cloud.deletePool(id(ctx, 'clusterId'), id(ctx, 'poolId'))
      return ok({})
    },
  },
  {
    method: 'GET',
    template: '/lke/clusters/{clusterId}/kubeconfig',
    handle: async (ctx) => {
      const {cluster} = clusterWith(ctx)
      if (!ctx.cloud.kubeconfigReady(cluster)) return notYet(cluster.timeline.kubeconfigRetryAfterSeconds, 'Cluster kubeconfig')
      return ok({kubeconfig: Buffer.from(await ctx.kubeconfig(cluster), 'utf8').toString('base64')})
    },
  },
  {
    method: 'GET',
    template: '/lke/clusters/{clusterId}/api-endpoints',
    handle: (ctx, r) => {
      const {cluster} = clusterWith(ctx)
      if (!ctx.cloud.kubeconfigReady(cluster)) return notYet(cluster.timeline.kubeconfigRetryAfterSeconds, 'Cluster API endpoints')
      const host = `${cluster.id.toString(16)}-${cluster.kubeToken.slice(0, 8)}.${cluster.region}-1.linodelke.net`
      const ip = `192.0.2.${cluster.id % 250}`
      return list(
        ctx,
        r,
        [`https://${host}:443`, `https://${host}:6443`, `https://${ip}:443`, `https://${ip}:6443`].map((endpoint) => ({endpoint})),
      )
    },
  },

  {method: 'GET', template: '/nodebalancers', handle: (ctx, r) => list(ctx, r, [...ctx.cloud.nodeBalancers.values()])},
  {
    method: 'GET',
    template: '/nodebalancers/{nodeBalancerId}',
    handle: (ctx) => {
      const nodeBalancer = ctx.cloud.nodeBalancers.get(id(ctx, 'nodeBalancerId'))
      if (!nodeBalancer) throw notFound()
      return ok(nodeBalancer)
    },
  },
  {
    method: 'DELETE',
    template: '/nodebalancers/{nodeBalancerId}',
    handle: (ctx) => {
      ctx.cloud.deleteNodeBalancer(id(ctx, 'nodeBalancerId'))
      return ok({})
    },
  },
  {
    method: 'GET',
    template: '/nodebalancers/{nodeBalancerId}/firewalls',
    handle: (ctx, r) =>
      list(
        ctx,
        r,
        ctx.cloud.firewallsOf('nodebalancer', id(ctx, 'nodeBalancerId')).map((f) => ctx.cloud.firewallView(f)),
      ),
  },

  {method: 'GET', template: '/linode/instances', handle: (ctx, r) => list(ctx, r, ctx.cloud.instances())},
  {method: 'GET', template: '/linode/instances/{linodeId}', handle: (ctx) => ok(ctx.cloud.instance(id(ctx, 'linodeId')))},

  {
    method: 'GET',
    template: '/networking/firewalls',
    handle: (ctx, r) =>
      list(
        ctx,
        r,
        [...ctx.cloud.firewalls.values()].map((f) => ctx.cloud.firewallView(f)),
      ),
  },
  {method: 'POST', template: '/networking/firewalls', handle: (ctx) => ok(ctx.cloud.firewallView(ctx.cloud.createFirewall(ctx.body as FirewallInput)))},
  {method: 'GET', template: '/networking/firewalls/{firewallId}', handle: (ctx) => ok(ctx.cloud.firewallView(ctx.cloud.firewall(id(ctx, 'firewallId'))))},
  {
    method: 'PUT',
    template: '/networking/firewalls/{firewallId}',
    handle: (ctx) => ok(ctx.cloud.firewallView(ctx.cloud.updateFirewall(id(ctx, 'firewallId'), ctx.body as Parameters<FakeCloud['updateFirewall']>[1]))),
  },
  {
    method: 'DELETE',
    template: '/networking/firewalls/{firewallId}',
    handle: (ctx) => {
      ctx.cloud.deleteFirewall(id(ctx, 'firewallId'))
      return ok({})
    },
  },
  {method: 'GET', template: '/networking/firewalls/{firewallId}/rules', handle: (ctx) => ok(structuredClone(ctx.cloud.firewall(id(ctx, 'firewallId')).rules))},
  {
    method: 'PUT',
    template: '/networking/firewalls/{firewallId}/rules',
    handle: (ctx) => ok(structuredClone(ctx.cloud.replaceRules(id(ctx, 'firewallId'), ctx.body as FirewallRulesInput).rules)),
  },
  {
    method: 'GET',
    template: '/networking/firewalls/{firewallId}/devices',
    handle: (ctx, r) =>
      list(
        ctx,
        r,
        ctx.cloud.firewall(id(ctx, 'firewallId')).devices.map((d) => ctx.cloud.deviceView(d)),
      ),
  },
  {
    method: 'POST',
    template: '/networking/firewalls/{firewallId}/devices',
    handle: (ctx) => ok(ctx.cloud.deviceView(ctx.cloud.addDevice(id(ctx, 'firewallId'), ctx.body as {id: number; type: DeviceType}))),
  },
  {
    method: 'GET',
    template: '/networking/firewalls/{firewallId}/devices/{deviceId}',
    handle: (ctx) => ok(ctx.cloud.deviceView(ctx.cloud.device(id(ctx, 'firewallId'), id(ctx, 'deviceId')))),
  },
  {
    method: 'DELETE',
    template: '/networking/firewalls/{firewallId}/devices/{deviceId}',
    handle: (ctx) => {
      ctx.cloud.removeDevice(id(ctx, 'firewallId'), id(ctx, 'deviceId'))
      return ok({})
    },
  },

  {method: 'GET', template: '/volumes', handle: (ctx, r) => list(ctx, r, [...ctx.cloud.volumes.values()])},
  {
    method: 'GET',
    template: '/volumes/{volumeId}',
    handle: (ctx) => {
      const volume = ctx.cloud.volumes.get(id(ctx, 'volumeId'))
      if (!volume) throw notFound()
      return ok(volume)
    },
  },
  {
    method: 'DELETE',
    template: '/volumes/{volumeId}',
    handle: (ctx) => {
      ctx.cloud.deleteVolume(id(ctx, 'volumeId'))
      return ok({})
    },
  },
]

export interface RouteMatch {
  route: Route
  params: Record<string, string>
}

const compiled = ROUTES.map((route) => {
  const names: string[] = []
  const source = route.template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  return {route, names, regex: new RegExp(`^${source}/?$`)}
})

/** `path` is without the /v4 or /v4beta prefix. Returns the routes of that path for other methods when only the method differs. */
export function matchRoute(method: string, path: string): RouteMatch | {allowed: string[]} | undefined {
  const allowed: string[] = []
  for (const {route, names, regex} of compiled) {
    const m = regex.exec(path)
    if (!m) continue
    if (route.method !== method) {
      allowed.push(route.method)
      continue
    }
    return {route, params: Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]))}
  }
  return allowed.length > 0 ? {allowed} : undefined
}
