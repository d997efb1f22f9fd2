/**
 * A strict fake of the Linode API for fedobs' cluster commands: every request is checked against
 * the official OpenAPI spec, every answer is checked against it too (state.violations).
 */
import {randomBytes, timingSafeEqual} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {
  ApiFailure,
  FakeCloud,
  type ApiCluster,
  type ApiFirewall,
  type ApiInstance,
  type ApiNodeBalancer,
  type ApiPool,
  type ApiVolume,
  type ClusterInput,
  type ClusterRecord,
  type FirewallRecord,
  type PoolRecord,
} from './cloud.js'
import {defaultFixtures, type Fixtures} from './fixtures.js'
import {lkeKubeconfig} from './kubeconfig.js'
import {errorReason, Faults, RateLimiter, type Fault, type RateLimit} from './limits.js'
import {matchRoute, type Reply, type Route} from './routes.js'
import {operation, validateRequest, validateResponse} from './spec.js'
import {Clock, DEFAULT_TIMELINE, resolveTimeline, seededRandom, type Timeline} from './timeline.js'

export type {Fault, RateLimit} from './limits.js'
export type {Timeline} from './timeline.js'
export type {ApiCluster, ApiFirewall, ApiFirewallDevice, ApiInstance, ApiNodeBalancer, ApiPool, ApiVolume, ClusterInput, FirewallRule} from './cloud.js'

export interface FakeLinodeOptions {
  host?: string
  /** 0 (default): any free port. */
  port?: number
  /** The one valid API token; random when left out. */
  token?: string
  /** Real seconds per simulated second (default 1); the CLI reads the same factor from FEDOBS_TIME_SCALE. */
  timeScale?: number
  /**
   * The simulated clock moves only by advance(), never with real time (timeScale then only tells the
   * CLI how to scale its own waits). For tests that decide when each event happens.
   */
  manualClock?: boolean
  timeline?: Partial<Timeline>
  /** Per-cluster timeline, decided at create time (e.g. by label). */
  timelineFor?: (input: ClusterInput) => Partial<Timeline> | undefined
  /** The kubeconfig YAML (not base64) to hand out; default: LKE-shaped, server https://127.0.0.1:<port>. */
  kubeconfigFor?: (cluster: ApiCluster) => string | Promise<string>
  /** Per token. Default 1600 per 60 s; null: no limit and no X-RateLimit-* headers. */
  rateLimit?: RateLimit | null
  maintenance?: boolean
  faults?: Fault[]
  fixtures?: Partial<Fixtures>
  /** Check each answer against the spec (all declared fields present) into state.violations. Default true. */
  checkResponses?: boolean
  /** Seeds the random parts (kubeconfig delays drawn from a range, node ids). */
  seed?: number
}

export interface LoggedRequest {
  method: string
  /** Path and query as sent, e.g. /v4beta/lke/clusters?page=1 */
  path: string
  /** The spec's template, e.g. /{apiVersion}/lke/clusters/{clusterId}, when the route exists. */
  template?: string
  /** 0 when the connection was reset instead of answered. */
  status: number
  /** Wall clock (ms since epoch) and simulated seconds since start. */
  time: number
  simSeconds: number
  xFilter?: string
}

export interface FakeState {
  readonly clusters: Map<number, ClusterRecord>
  readonly pools: Map<number, PoolRecord>
  readonly nodeBalancers: Map<number, ApiNodeBalancer>
  readonly volumes: Map<number, ApiVolume>
  readonly firewalls: Map<number, FirewallRecord>
  /** Every node as the API shows it now (computed on each read). */
  readonly nodes: FakeView['nodes']
  readonly requests: LoggedRequest[]
  /** Answers that broke the spec: must stay empty. */
  readonly violations: string[]
}

export interface FakeView {
  clusters: ApiCluster[]
  pools: (ApiPool & {clusterId: number})[]
  nodes: (ApiPool['nodes'][number] & {clusterId: number; poolId: number; type: string})[]
  nodeBalancers: ApiNodeBalancer[]
  volumes: ApiVolume[]
  /** The Linodes behind pool nodes that exist by now. */
  instances: ApiInstance[]
  firewalls: ApiFirewall[]
}

export interface FakeLinode {
  /** Use as LINODE_URL; /v4/... and /v4beta/... both work. */
  readonly url: string
  readonly port: number
  readonly token: string
  readonly timeScale: number
  readonly state: FakeState
  /** What the API would show right now. */
  view(): FakeView
  /** Simulated seconds since start; advance() jumps the clock. */
  now(): number
  advance(seconds: number): void
  injectFaults(faults: Fault[]): void
  clearFaults(): void
  /** Armed fault hits not yet used. */
  pendingFaults(): number
  setRateLimit(limit: RateLimit | null): void
  setMaintenance(on: boolean): void
  setClusterTimeline(clusterId: number, timeline: Partial<Timeline>): void
  /** A cluster as if POSTed `ageSeconds` ago (same checks as the API). */
  addCluster(input: ClusterInput, options?: {ageSeconds?: number}): ApiCluster
  addNodeBalancer(input: {clusterId: number | null; label?: string; tags?: string[]; region?: string}): ApiNodeBalancer
  addVolume(input: {label: string; tags?: string[]; linodeId: number | null; size: number; region?: string}): ApiVolume
  /** Delete a NodeBalancer as its owner (the cloud controller) would (its firewall device goes too); false when it does not exist. */
  removeNodeBalancer(id: number): boolean
  /** The Cloud Firewall a NodeBalancer is a device of, as the API shows it; undefined when none (or no such NodeBalancer). */
  firewallOf(nodeBalancerId: number): ApiFirewall | undefined
  close(): Promise<void>
}

const VERSIONED = /^\/(v4|v4beta)(\/[^?]*)/
const MAX_BODY = 1 << 20

function apiError(status: number, reason: string, headers?: Record<string, string>): Reply {
  return {status, body: {errors: [{reason}]}, ...(headers ? {headers} : {})}
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Test set-up mistakes (a 40-character volume label) fail here, not as a puzzling answer later. */
function rejectInvalid(template: string, object: unknown, undo: () => void): void {
  const problems = validateResponse('GET', template, 200, object, {complete: true})
  if (problems.length === 0) return
  undo()
  throw new Error(`fake-linode: this object breaks the spec: ${problems.join('; ')}`)
}

export async function startFakeLinode(options: FakeLinodeOptions = {}): Promise<FakeLinode> {
  const token = options.token ?? randomBytes(32).toString('hex')
  const clock = new Clock(options.timeScale ?? 1, options.manualClock ?? false)
  const fixtures: Fixtures = {...defaultFixtures(), ...options.fixtures}
  const timeline: Timeline = {...DEFAULT_TIMELINE, ...options.timeline}
  const seed = options.seed ?? 1
  const cloud = new FakeCloud({clock, fixtures, timeline, seed, ...(options.timelineFor ? {timelineFor: options.timelineFor} : {})})
  const faults = new Faults()
  faults.add(options.faults ?? [])
  let limiter: RateLimiter | undefined = options.rateLimit === null ? undefined : new RateLimiter(clock, options.rateLimit ?? {limit: 1600, windowSeconds: 60})
  let maintenance = options.maintenance ?? false
  const checkResponses = options.checkResponses ?? true
  const requests: LoggedRequest[] = []
  const violations: string[] = []
  const reshuffle = seededRandom(seed + 1)
  let port = 0

  const kubeconfig = async (cluster: ClusterRecord): Promise<string> =>
    options.kubeconfigFor ? options.kubeconfigFor(cloud.clusterView(cluster)) : lkeKubeconfig(cluster.id, `https://127.0.0.1:${port}`, cluster.kubeToken)

  function tokenMatches(header: string | undefined): boolean | undefined {
    if (header === undefined) return undefined
    const presented = Buffer.from(/^Bearer (.+)$/.exec(header)?.[1] ?? '')
    const expected = Buffer.from(token)
    return presented.length === expected.length && timingSafeEqual(presented, expected)
  }

  async function answer(req: IncomingMessage, method: string, path: string, route: Route | undefined, params: Record<string, string>): Promise<Reply | 'reset'> {
    const authorized = tokenMatches(req.headers.authorization)
    const isPublic = route ? operation(method, route.template).public : false
    if (authorized === false || (authorized === undefined && !isPublic)) return apiError(401, 'Invalid Token')
    if (maintenance) return apiError(503, 'Linode API is undergoing maintenance. Please try again later.', {'X-Maintenance-Mode': 'true'})
    if (!route) return apiError(404, 'Not found')

    const before = faults.take(method, path, false)
    if (before) return faultReply(before)

    const raw = await readBody(req)
    if (raw === undefined) return apiError(413, 'Request body too large')
    let body: unknown
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw)
      } catch {
        return apiError(400, 'Invalid JSON')
      }
    }
    const url = new URL(req.url ?? '/', 'http://fake')
    const xFilter = req.headers['x-filter']
    const checked = validateRequest({
      method,
      template: route.template,
      pathParams: {apiVersion: url.pathname.split('/')[1] ?? '', ...params},
      query: url.searchParams,
      ...(typeof xFilter === 'string' ? {xFilter} : {}),
      body,
    })
    if (checked.errors.length > 0) return {status: 400, body: {errors: checked.errors}}

    let reply: Reply
    try {
      reply = await route.handle({cloud, fixtures, path: checked.path, query: checked.query, ...(checked.filter ? {filter: checked.filter} : {}), body, kubeconfig}, route)
    } catch (error) {
      if (error instanceof ApiFailure) return {status: error.status, body: {errors: error.errors}}
      throw error
    }
    const after = reply.status < 300 ? faults.take(method, path, true) : undefined
    return after ? faultReply(after) : reply
  }

  function faultReply(fault: Fault): Reply | 'reset' {
    if (fault.resetConnection) return 'reset'
    const status = fault.status ?? 500
    const headers = {...(status === 429 ? {'Retry-After': '1'} : {}), ...fault.headers}
    return {status, body: fault.body ?? {errors: [{reason: errorReason(status)}]}, headers}
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const rawPath = req.url ?? '/'
    const versioned = VERSIONED.exec(rawPath)
    const path = versioned?.[2] ?? rawPath
    const matched = versioned ? matchRoute(method, path) : undefined
    const route = matched && 'route' in matched ? matched.route : undefined
    const template = route ? `/{apiVersion}${route.template}` : undefined
    const xFilter = req.headers['x-filter']
    const entry: LoggedRequest = {method, path: rawPath, ...(template ? {template} : {}), status: 0, time: Date.now(), simSeconds: clock.now(), ...(typeof xFilter === 'string' ? {xFilter} : {})}
    requests.push(entry)

    const rate = limiter?.take(tokenMatches(req.headers.authorization) ? 'token' : `anonymous ${req.socket.remoteAddress ?? ''}`)
    let reply: Reply | 'reset'
    if (rate && !rate.allowed) reply = apiError(429, 'Too Many Requests')
    else if (matched && 'allowed' in matched && tokenMatches(req.headers.authorization)) reply = apiError(405, 'Method Not Allowed', {Allow: matched.allowed.join(', ')})
    else reply = await answer(req, method, path, route, matched && 'params' in matched ? matched.params : {})

    if (reply === 'reset') {
      req.socket.destroy()
      return
    }
    entry.status = reply.status
    if (checkResponses && template) {
      for (const problem of validateResponse(method, template, reply.status, reply.body, {complete: true})) violations.push(`${method} ${rawPath}: ${problem}`)
    }
    const text = JSON.stringify(reply.body)
    res.writeHead(reply.status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...rate?.headers, ...reply.headers})
    res.end(text)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      violations.push(`${req.method} ${req.url}: fake crashed: ${error instanceof Error ? error.stack : String(error)}`)
      if (!res.headersSent) res.writeHead(500, {'Content-Type': 'application/json'})
      res.end(JSON.stringify({errors: [{reason: 'Internal Server Error'}]}))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  const host = options.host ?? '127.0.0.1'

  function view(): FakeView {
    const pools = [...cloud.pools.values()].map((p) => ({...cloud.poolView(p), clusterId: p.clusterId}))
    return {
      clusters: [...cloud.clusters.values()].map((c) => cloud.clusterView(c)),
      pools,
      nodes: pools.flatMap((p) => p.nodes.map((n) => ({...n, clusterId: p.clusterId, poolId: p.id, type: p.type}))),
      nodeBalancers: [...cloud.nodeBalancers.values()].map((nb) => structuredClone(nb)),
      volumes: [...cloud.volumes.values()].map((v) => structuredClone(v)),
      instances: cloud.instances(),
      firewalls: [...cloud.firewalls.values()].map((f) => cloud.firewallView(f)),
    }
  }

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    token,
    timeScale: clock.timeScale,
    state: {
      clusters: cloud.clusters,
      pools: cloud.pools,
      nodeBalancers: cloud.nodeBalancers,
      volumes: cloud.volumes,
      firewalls: cloud.firewalls,
      get nodes() {
        return view().nodes
      },
      requests,
      violations,
    },
    view,
    now: () => clock.now(),
    advance: (seconds) => clock.advance(seconds),
    injectFaults: (list) => faults.add(list),
    clearFaults: () => faults.clear(),
    pendingFaults: () => faults.pending(),
    setRateLimit(limit) {
      limiter = limit === null ? undefined : new RateLimiter(clock, limit)
    },
    setMaintenance(on) {
      maintenance = on
    },
    setClusterTimeline(clusterId, change) {
      const cluster = cloud.cluster(clusterId)
      cluster.timeline = resolveTimeline({...cluster.timeline, ...change}, reshuffle)
    },
    addCluster: (input, opts) => cloud.clusterView(cloud.createCluster(structuredClone(input), opts?.ageSeconds ?? 0)),
    addNodeBalancer(input) {
      const nodeBalancer = cloud.addNodeBalancer(input)
      rejectInvalid('/nodebalancers/{nodeBalancerId}', nodeBalancer, () => cloud.nodeBalancers.delete(nodeBalancer.id))
      return structuredClone(nodeBalancer)
    },
    addVolume(input) {
      const volume = cloud.addVolume(input)
      rejectInvalid('/volumes/{volumeId}', volume, () => cloud.volumes.delete(volume.id))
      return structuredClone(volume)
    },
    removeNodeBalancer(id) {
      if (!cloud.nodeBalancers.has(id)) return false
      cloud.deleteNodeBalancer(id)
      return true
    },
    firewallOf(nodeBalancerId) {
      if (!cloud.nodeBalancers.has(nodeBalancerId)) return undefined
      const [firewall] = cloud.firewallsOf('nodebalancer', nodeBalancerId)
      return firewall ? cloud.firewallView(firewall) : undefined
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}
