import {isIP} from 'node:net'
import {ExitCode, FedobsError, UsageError} from '../lib/errors.js'
import {realClock, type Clock} from '../lib/time.js'
import type {ApiCluster, ApiInstance, ApiKubeconfig, ApiNodeBalancer, ApiPool, ApiRegion, ApiType, ApiVolume, ClusterPayload, PoolPayload} from './types.js'

const OFFICIAL = 'https://api.linode.com'

export interface ApiErrorItem {
  field?: string
  reason: string
}

/** Every Linode API failure, in one shape: status, the API's field/reason list, and what was called. */
export class LinodeApiError extends FedobsError {
  readonly status?: number
  readonly errors: ApiErrorItem[]
  readonly method: string
  readonly path: string
  readonly retryAfterMs?: number
  readonly maintenance: boolean

  constructor(init: {
    status?: number
    errors: ApiErrorItem[]
    method: string
    path: string
    retryAfterMs?: number
    maintenance?: boolean
    network?: string
    explained?: {message: string; hint: string; code: string}
  }) {
    const detail = init.errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; ')
    const what = init.status ? `${init.status}` : (init.network ?? 'network error')
    // 400: the request itself was wrong and nothing was created; 401/403: the token is the problem.
    const usage = init.status === 400 || init.status === 401 || init.status === 403
    super(init.explained?.message ?? `Linode API ${init.method} ${init.path}: ${what}${detail ? ` ${detail}` : ''}`, usage ? ExitCode.Usage : ExitCode.Failure, {
      code: init.explained?.code ?? (init.status ? `linode-${init.status}` : 'linode-network'),
      ...(init.explained ? {hint: init.explained.hint} : {}),
      ...(init.status === 401 || init.status === 403
        ? {hint: 'Check the token (LINODE_TOKEN, LINODE_CLI_TOKEN, --token-file, linode-cli config): it needs lke, linodes, nodebalancers and volumes read/write scopes.'}
        : {}),
    })
    this.status = init.status
    this.errors = init.errors
    this.method = init.method
    this.path = init.path
    this.retryAfterMs = init.retryAfterMs
    this.maintenance = init.maintenance ?? false
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), status: this.status, errors: this.errors}
  }
}

/** Errors that say the API's host cannot be reached at all: one retry, then a clear error (no 35 s of retries). */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS failure)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
}
const UNREACHABLE_RETRY_MS = 1000

/** host:port of an origin, with the scheme's default port spelled out. */
export function hostPort(origin: string): string {
  const url = new URL(origin)
  return `${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`
}

/** The Linode API cannot be reached at all: names the host:port and what to check. */
export function unreachableError(init: {code: string; origin: string; method: string; path: string; linodeUrl: string | undefined}): LinodeApiError {
  const configured = init.linodeUrl !== undefined && init.linodeUrl.trim() !== ''
  const message = `cannot reach the Linode API at ${hostPort(init.origin)} (${UNREACHABLE[init.code] ?? init.code}; ${init.method} ${init.path})`
  const hint = configured
    ? `Is LINODE_URL right? It is ${init.linodeUrl!.trim()}. For the local sandbox, start it with \`fedobs sandbox start\` and export the LINODE_URL it prints; for Linode itself, unset LINODE_URL.`
    : 'Check the network and DNS of this machine (the Linode API is https://api.linode.com); to use the local sandbox instead, run `fedobs sandbox start` and export the LINODE_URL it prints.'
  return new LinodeApiError({errors: [], method: init.method, path: init.path, network: init.code, explained: {message, hint, code: 'linode-unreachable'}})
}

export interface LinodeClientOptions {
  token: string
  /** scheme://host[:port] (LINODE_URL); /v4 and /v4beta are appended. */
  baseUrl?: string
  signal?: AbortSignal
  /** Debug log (method and path only: never headers, never bodies). */
  log?: (message: string) => void
  /** Overall retry budget for one logical call, in simulated ms. */
  retryDeadlineMs?: number
  requestTimeoutMs?: number
  /** Retry waits run on this clock (default: real time). */
  clock?: Clock
}

export interface RetryPolicy {
  /** Safe to repeat: GETs and DELETEs. A POST is retried only where the API certainly did nothing (429). */
  idempotent: boolean
}

export interface LinodeApi {
  readonly calls: {count: number; byPath: Map<string, number>}
  regions(): Promise<ApiRegion[]>
  kubernetesVersions(): Promise<string[]>
  linodeTypes(): Promise<ApiType[]>
  clustersByLabel(label: string): Promise<ApiCluster[]>
  clustersByTag(tag: string): Promise<ApiCluster[]>
  cluster(id: number): Promise<ApiCluster | undefined>
  createCluster(payload: ClusterPayload): Promise<ApiCluster>
  deleteCluster(id: number): Promise<boolean>
  kubeconfig(id: number): Promise<{ready: true; yaml: string} | {ready: false; retryAfterMs?: number}>
  pools(id: number): Promise<ApiPool[]>
  /** Add a node pool to a cluster (POST, not repeated on a network failure: the caller re-reads the pools). */
  createPool(clusterId: number, payload: PoolPayload): Promise<ApiPool>
  /** Resize a pool or change its autoscaler (PUT: safe to repeat). */
  updatePool(clusterId: number, poolId: number, change: {count?: number; autoscaler?: {enabled: boolean; min?: number; max?: number}}): Promise<ApiPool>
  /** Replace a cluster's tags (PUT /lke/clusters/{id}). */
  updateClusterTags(clusterId: number, tags: string[]): Promise<ApiCluster>
  /** The Linodes with these ids (ids that do not exist are left out): one request per 500 ids. */
  instancesByIds(ids: number[]): Promise<ApiInstance[]>
  /**
   * The public addresses of every node of an LKE cluster that has its Linode yet, as CIDRs
   * (`a.b.c.d/32`, `<ipv6>/128`), sorted: the pools, then one instance list.
   */
  nodeAddresses(clusterId: number): Promise<string[]>
  nodeBalancers(): Promise<ApiNodeBalancer[]>
  deleteNodeBalancer(id: number): Promise<boolean>
  volumes(): Promise<ApiVolume[]>
  deleteVolume(id: number): Promise<boolean>
}

/** LINODE_URL → the origin that replaces https://api.linode.com. */
export function normalizeBaseUrl(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return OFFICIAL
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw new UsageError(`LINODE_URL ${JSON.stringify(raw)} is not a URL`, {hint: 'Use scheme://host[:port], e.g. https://api.linode.com', code: 'bad-url'})
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`LINODE_URL must be http or https, not ${url.protocol}`, {code: 'bad-url'})
  }
  const pathname = url.pathname.replace(/\/+$/, '').replace(/\/v4(beta)?$/, '')
  return `${url.protocol}//${url.host}${pathname}`
}

/** How many ids one X-Filter `+or` may carry: one page of the largest size. */
export const IDS_PER_FILTER = 500

/** Ranges that never face the internet: RFC 1918, shared address space (CGNAT), loopback, link-local. */
const NON_PUBLIC_IPV4: [number, number][] = [
  [0x0a000000, 8],
  [0xac100000, 12],
  [0xc0a80000, 16],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
]

const ipv4Number = (address: string): number => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)

export function isPublicIPv4(address: string): boolean {
  if (isIP(address) !== 4) return false
  const n = ipv4Number(address)
  return !NON_PUBLIC_IPV4.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)))
}

/** Unique-local (fc00::/7) and link-local (fe80::/10) IPv6 addresses are not public. */
function isPublicIPv6(address: string): boolean {
  return isIP(address) === 6 && !/^f[cd]/i.test(address) && !/^fe[89ab]/i.test(address)
}

/** The public addresses of these Linodes as CIDRs: IPv4 /32 first (numeric order), then IPv6 /128. */
export function publicCidrs(instances: ApiInstance[]): string[] {
  const ipv4 = new Set(instances.flatMap((i) => i.ipv4).filter(isPublicIPv4))
  const ipv6 = new Set(instances.map((i) => i.ipv6?.replace(/\/\d+$/, '')).filter((a): a is string => a !== undefined && isPublicIPv6(a)))
  return [...[...ipv4].sort((a, b) => ipv4Number(a) - ipv4Number(b)).map((a) => `${a}/32`), ...[...ipv6].sort().map((a) => `${a}/128`)]
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])
const MAX_ATTEMPTS = 6

/** Retry-After (seconds), clamped to [3 s, 30 s] like linodego, with ±20% jitter. */
export function retryDelayMs(retryAfterSeconds: number | undefined, attempt: number): number {
  const base = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : Math.min(30_000, 1000 * 2 ** attempt)
  const clamped = Math.min(30_000, Math.max(3000, base))
  return Math.round(clamped * (0.8 + Math.random() * 0.4))
}

interface Page<T> {
  data: T[]
  page: number
  pages: number
  results: number
}
type PageParams = {page: number; page_size: number}
interface AxiosLikeConfig {
  url?: string
  timeout?: number
  signal?: AbortSignal
  headers: {set(name: string, value: string): void}
}
/**
 * The part of @linode/api-v4 fedobs calls. (Its .d.ts files use extension-less re-exports that
 * NodeNext resolution does not follow, so the surface is declared here.)
 */
interface Api {
  baseRequest: {
    interceptors: {
      request: {use(fn: (config: AxiosLikeConfig) => AxiosLikeConfig | Promise<AxiosLikeConfig>): number}
      response: {use(fn: (response: {headers: Record<string, string>}) => unknown): number}
    }
  }
  getRegions(params: PageParams): Promise<Page<ApiRegion>>
  getKubernetesVersions(params: PageParams): Promise<Page<{id: string}>>
  getLinodeTypes(params: PageParams): Promise<Page<ApiType>>
  getKubernetesClusters(params: PageParams, filter: Record<string, unknown>): Promise<Page<ApiCluster>>
  getKubernetesCluster(id: number): Promise<ApiCluster>
  createKubernetesCluster(payload: ClusterPayload): Promise<ApiCluster>
  deleteKubernetesCluster(id: number): Promise<unknown>
  getKubeConfig(id: number): Promise<ApiKubeconfig>
  getNodePools(id: number, params: PageParams): Promise<Page<ApiPool>>
  createNodePool(clusterId: number, data: PoolPayload): Promise<ApiPool>
  updateNodePool(clusterId: number, poolId: number, data: {count?: number; autoscaler?: {enabled: boolean; min?: number; max?: number}}): Promise<ApiPool>
  updateKubernetesCluster(clusterId: number, data: {tags?: string[]}): Promise<ApiCluster>
  getLinodes(params: PageParams, filter: Record<string, unknown>): Promise<Page<ApiInstance>>
  getNodeBalancers(params: PageParams): Promise<Page<ApiNodeBalancer>>
  deleteNodeBalancer(id: number): Promise<unknown>
  getVolumes(params: PageParams): Promise<Page<ApiVolume>>
  deleteVolume(id: number): Promise<unknown>
}

let installed: {api: Api; state: InterceptorState} | undefined

interface InterceptorState {
  token: string
  origin: string
  signal?: AbortSignal
  timeoutMs: number
  /** When the rate limit window resets, if the last answer said nothing is left. */
  pausedUntil: number
}

/**
 * @linode/api-v4 is a module-level axios instance with absolute URLs and no base-URL setter, and
 * its first token interceptor wins. We install one interceptor that sets the token, rewrites the
 * origin (LINODE_URL), adds the abort signal and a timeout, and waits out an exhausted rate limit.
 */
async function loadApi(options: LinodeClientOptions): Promise<{api: Api; state: InterceptorState}> {
  const origin = normalizeBaseUrl(options.baseUrl)
  if (installed) {
    Object.assign(installed.state, {token: options.token, origin, signal: options.signal, timeoutMs: options.requestTimeoutMs ?? 60_000})
    return installed
  }
  const api = (await import('@linode/api-v4')) as unknown as Api
  const state: InterceptorState = {token: options.token, origin, signal: options.signal, timeoutMs: options.requestTimeoutMs ?? 60_000, pausedUntil: 0}
  api.baseRequest.interceptors.request.use(async (config) => {
    const wait = state.pausedUntil - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 60_000)))
    if (config.url?.startsWith(OFFICIAL)) config.url = state.origin + config.url.slice(OFFICIAL.length)
    config.headers.set('Authorization', `Bearer ${state.token}`)
    config.headers.set('User-Agent', 'fedobs')
    config.timeout = state.timeoutMs
    if (state.signal) config.signal = state.signal
    return config
  })
  api.baseRequest.interceptors.response.use((response) => {
    const remaining = Number(response.headers['x-ratelimit-remaining'])
    const reset = Number(response.headers['x-ratelimit-reset'])
    if (remaining === 0 && Number.isFinite(reset)) state.pausedUntil = reset * 1000
    return response
  })
  installed = {api, state}
  return installed
}

interface RawFailure {
  status?: number
  data?: {errors?: ApiErrorItem[]}
  headers?: Record<string, string | undefined>
  network?: string
  aborted?: boolean
}

function toRawFailure(error: unknown): RawFailure {
  if (Array.isArray(error)) {
    // Client-side validation of @linode/api-v4 rejects with APIError[]: like a 400, nothing sent.
    return {status: 400, data: {errors: error as ApiErrorItem[]}}
  }
  const e = error as {response?: {status: number; data?: unknown; headers?: Record<string, string>}; code?: string; name?: string; message?: string}
  if (e?.name === 'CanceledError' || e?.code === 'ERR_CANCELED') return {aborted: true}
  if (e?.response) {
    const data = typeof e.response.data === 'object' && e.response.data !== null ? (e.response.data as {errors?: ApiErrorItem[]}) : {}
    return {status: e.response.status, data, headers: e.response.headers}
  }
  // Only the code, never the message: axios messages can echo request details.
  return {network: e?.code ?? 'network error'}
}

export async function createLinodeClient(options: LinodeClientOptions): Promise<LinodeApi> {
  const {api, state} = await loadApi(options)
  const log = options.log ?? (() => undefined)
  const deadline = options.retryDeadlineMs ?? 10 * 60_000
  const clock = options.clock ?? realClock
  const calls = {count: 0, byPath: new Map<string, number>()}

  async function call<T>(method: string, path: string, fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
    const started = clock.now()
    for (let attempt = 0; ; attempt++) {
      calls.count++
      calls.byPath.set(`${method} ${path}`, (calls.byPath.get(`${method} ${path}`) ?? 0) + 1)
      log(`${method} ${path}${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}`)
      try {
        return await fn()
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : error
        const failure = toRawFailure(error)
        if (failure.aborted) throw options.signal?.reason ?? error
        const headers = failure.headers ?? {}
        const retryAfter = headers['retry-after'] === undefined ? undefined : Number(headers['retry-after'])
        const maintenance = headers['x-maintenance-mode'] !== undefined
        const apiError = new LinodeApiError({
          status: failure.status,
          errors: failure.data?.errors ?? [],
          method,
          path,
          ...(retryAfter !== undefined ? {retryAfterMs: retryAfter * 1000} : {}),
          maintenance,
          ...(failure.network ? {network: failure.network} : {}),
        })
        if (failure.network !== undefined && failure.network in UNREACHABLE) {
          // Nothing listens there, or the name does not resolve: one quick retry (a blip), then say so.
          if (attempt >= 1) throw unreachableError({code: failure.network, origin: state.origin, method, path, linodeUrl: options.baseUrl})
          log(`${method} ${path}: ${failure.network}, retrying once in ${UNREACHABLE_RETRY_MS / 1000}s`)
          await clock.sleep(UNREACHABLE_RETRY_MS, options.signal)
          continue
        }
        const retryable =
          failure.status === 429 ||
          (policy.idempotent && failure.network !== undefined) ||
          (policy.idempotent && failure.status !== undefined && RETRYABLE.has(failure.status) && !(failure.status === 503 && maintenance))
        const delay = retryDelayMs(retryAfter, attempt)
        // Rate limits are waited out until the deadline; other failures get a few tries only.
        const giveUp = failure.status !== 429 && attempt >= MAX_ATTEMPTS - 1
        if (!retryable || giveUp || clock.now() - started + delay > deadline) throw apiError
        log(`${method} ${path}: ${failure.status ?? failure.network}, retrying in ${Math.round(delay / 1000)}s`)
        await clock.sleep(delay, options.signal)
      }
    }
  }

  async function allPages<T>(path: string, page: (params: {page: number; page_size: number}) => Promise<{data: T[]; pages: number}>): Promise<T[]> {
    const first = await call('GET', path, () => page({page: 1, page_size: 500}), {idempotent: true})
    if (first.pages <= 1) return first.data
    const rest = await Promise.all(Array.from({length: first.pages - 1}, (_, i) => call('GET', `${path}?page=${i + 2}`, () => page({page: i + 2, page_size: 500}), {idempotent: true})))
    return [first.data, ...rest.map((r) => r.data)].flat()
  }

  async function gone<T>(method: string, path: string, fn: () => Promise<T>): Promise<boolean> {
    try {
      await call(method, path, fn, {idempotent: true})
      return true
    } catch (error) {
      if (error instanceof LinodeApiError && error.status === 404) return false
      throw error
    }
  }

  async function instancesByIds(ids: number[]): Promise<ApiInstance[]> {
    const unique = [...new Set(ids)]
    const chunks = Array.from({length: Math.ceil(unique.length / IDS_PER_FILTER)}, (_, i) => unique.slice(i * IDS_PER_FILTER, (i + 1) * IDS_PER_FILTER))
    const pages = await Promise.all(chunks.map((chunk) => allPages('/linode/instances', (p) => api.getLinodes(p, {'+or': chunk.map((id) => ({id}))}))))
    return pages.flat().map(({id, label, ipv4, ipv6, lke_cluster_id}) => ({id, label, ipv4, ipv6, lke_cluster_id}))
  }

  const pools = (id: number): Promise<ApiPool[]> => allPages(`/lke/clusters/${id}/pools`, (p) => api.getNodePools(id, p))

  return {
    calls,
    regions: () => allPages('/regions', (p) => api.getRegions(p)),
    kubernetesVersions: async () => (await allPages('/lke/versions', (p) => api.getKubernetesVersions(p))).map((v) => v.id),
    linodeTypes: () => allPages('/linode/types', (p) => api.getLinodeTypes(p)),
    clustersByLabel: (label) => allPages('/lke/clusters', (p) => api.getKubernetesClusters(p, {label})),
    clustersByTag: (tag) => allPages('/lke/clusters', (p) => api.getKubernetesClusters(p, {tags: tag})),
    cluster: async (id) => {
      try {
        return await call('GET', `/lke/clusters/${id}`, () => api.getKubernetesCluster(id), {idempotent: true})
      } catch (error) {
        if (error instanceof LinodeApiError && error.status === 404) return undefined
        throw error
      }
    },
    createCluster: (payload) => call('POST', '/lke/clusters', () => api.createKubernetesCluster(payload), {idempotent: false}),
    deleteCluster: (id) => gone('DELETE', `/lke/clusters/${id}`, () => api.deleteKubernetesCluster(id)),
    kubeconfig: async (id) => {
      // One attempt: a 503 here means "not yet", which the caller waits out with its own clock.
      try {
        calls.count++
        log(`GET /lke/clusters/${id}/kubeconfig`)
        const response = await api.getKubeConfig(id)
        return {ready: true, yaml: Buffer.from(response.kubeconfig, 'base64').toString('utf8')}
      } catch (error) {
        const failure = toRawFailure(error)
        if (failure.aborted || options.signal?.aborted) throw options.signal?.reason ?? error
        if (failure.network !== undefined && failure.network in UNREACHABLE) {
          throw unreachableError({code: failure.network, origin: state.origin, method: 'GET', path: `/lke/clusters/${id}/kubeconfig`, linodeUrl: options.baseUrl})
        }
        const retryAfter = failure.headers?.['retry-after']
        if (failure.status === 503 && failure.headers?.['x-maintenance-mode'] === undefined) {
          return {ready: false, ...(retryAfter !== undefined ? {retryAfterMs: Number(retryAfter) * 1000} : {})}
        }
        if (failure.status === 429 || failure.status === 408 || failure.status === 500 || failure.status === 502 || failure.status === 504 || failure.network) {
          return {ready: false, ...(retryAfter !== undefined ? {retryAfterMs: Number(retryAfter) * 1000} : {})}
        }
        throw new LinodeApiError({
          status: failure.status,
          errors: failure.data?.errors ?? [],
          method: 'GET',
          path: `/lke/clusters/${id}/kubeconfig`,
          ...(failure.network ? {network: failure.network} : {}),
        })
      }
    },
    pools,
    createPool: (clusterId, payload) => call('POST', `/lke/clusters/${clusterId}/pools`, () => api.createNodePool(clusterId, payload), {idempotent: false}),
    updatePool: (clusterId, poolId, change) => call('PUT', `/lke/clusters/${clusterId}/pools/${poolId}`, () => api.updateNodePool(clusterId, poolId, change), {idempotent: true}),
    updateClusterTags: (clusterId, tags) => call('PUT', `/lke/clusters/${clusterId}`, () => api.updateKubernetesCluster(clusterId, {tags}), {idempotent: true}),
    instancesByIds,
    nodeAddresses: async (clusterId) => {
      const ids = (await pools(clusterId)).flatMap((pool) => pool.nodes.map((node) => node.instance_id)).filter((id): id is number => id !== null)
      return ids.length === 0 ? [] : publicCidrs(await instancesByIds(ids))
    },
    nodeBalancers: () => allPages('/nodebalancers', (p) => api.getNodeBalancers(p)),
    deleteNodeBalancer: (id) => gone('DELETE', `/nodebalancers/${id}`, () => api.deleteNodeBalancer(id)),
    volumes: () => allPages('/volumes', (p) => api.getVolumes(p)),
    deleteVolume: (id) => gone('DELETE', `/volumes/${id}`, () => api.deleteVolume(id)),
  }
}
