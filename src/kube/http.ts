/**
 * The Kube adapter over node:http(s) alone: what fedobs needs of the Kubernetes API (read, server-side
 * apply, list, create, replace, patch, delete) as plain REST calls on one keep-alive connection pool.
 * Loading @kubernetes/client-node costs most of a second of CPU and ~80 MiB before the first request
 * (its generated models); this costs nothing. Objects go over the wire as the JSON they are (no
 * model round trip that could drop a field).
 *
 * It serves contexts with static credentials (a bearer token or token file, a client certificate,
 * basic auth, or none) and a CA (data or file, or insecure-skip-tls-verify). A context that needs
 * more (an exec credential plugin, an auth-provider, a proxy-url) returns undefined from
 * connectDirect and goes to the client-node adapter in client.ts, as does any kubeconfig this
 * cannot read (client.ts then reports the problem).
 */
import {readFileSync} from 'node:fs'
import http from 'node:http'
import https, {type RequestOptions} from 'node:https'
import path from 'node:path'
import {parse} from 'yaml'
import {KubeApiError, objectKey, pollUntil, type ApplyOptions, type Kube, type KubeObject, type ListOptions, type ObjectRef, type TypeRef, type WaitOptions} from './api.js'
import {toKubeError} from './errors.js'

interface Credentials {
  /** PEM; undefined: the system's CAs. */
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  rejectUnauthorized: boolean
  servername?: string
  authorization?: string
}

interface Resource {
  name: string
  kind: string
  namespaced: boolean
}

/** Requests in flight to one API server at most (like client-go's default burst, well under the server's limits). */
const MAX_SOCKETS = 16

/**
 * A Kube for this context when its credentials are static, else undefined (the caller falls back to
 * client-node, which also reports unreadable kubeconfigs and unknown contexts).
 */
export function connectDirect(kubeconfigFile: string, contextName: string): Kube | undefined {
  let config: Record<string, unknown>
  try {
    config = parse(readFileSync(kubeconfigFile, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
  const named = (list: unknown, name: unknown): Record<string, unknown> | undefined => {
    if (!Array.isArray(list)) return undefined
    const found = (list as Array<{name?: unknown}>).find((entry) => entry?.name === name) as Record<string, unknown> | undefined
    return found
  }
  const context = named(config?.contexts, contextName)?.context as {cluster?: string; user?: string; namespace?: string} | undefined
  if (!context?.cluster) return undefined
  const cluster = named(config.clusters, context.cluster)?.cluster as Record<string, unknown> | undefined
  const user = (context.user === undefined ? {} : (named(config.users, context.user)?.user ?? undefined)) as Record<string, unknown> | undefined
  if (!cluster || typeof cluster.server !== 'string' || !user) return undefined
  if (user.exec || user['auth-provider'] || cluster['proxy-url']) return undefined
  let server: URL
  try {
    server = new URL(cluster.server)
  } catch {
    return undefined
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') return undefined
  // Paths in a kubeconfig are relative to the file (as kubectl and client-go read them).
  const file = (value: unknown): Buffer | undefined => (typeof value === 'string' && value !== '' ? readFileSync(path.resolve(path.dirname(kubeconfigFile), value)) : undefined)
  const data = (value: unknown): Buffer | undefined => (typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64') : undefined)
  let credentials: Credentials
  try {
    const token = typeof user.token === 'string' && user.token !== '' ? user.token : file(user.tokenFile)?.toString('utf8').trim()
    const basic = typeof user.username === 'string' ? Buffer.from(`${user.username}:${typeof user.password === 'string' ? user.password : ''}`).toString('base64') : undefined
    credentials = {
      ca: data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
      cert: data(user['client-certificate-data']) ?? file(user['client-certificate']),
      key: data(user['client-key-data']) ?? file(user['client-key']),
      rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
      ...(typeof cluster['tls-server-name'] === 'string' ? {servername: cluster['tls-server-name']} : {}),
      ...(token ? {authorization: `Bearer ${token}`} : basic ? {authorization: `Basic ${basic}`} : {}),
    }
  } catch {
    // A credential file that cannot be read: client-node reports it.
    return undefined
  }
  return new HttpKube(contextName, cluster.server, server, credentials, context.namespace ?? 'default')
}

class HttpKube implements Kube {
  private readonly agent: http.Agent
  private readonly basePath: string
  /** API resources per group version, from discovery (one request per group version, shared). */
  private readonly discovery = new Map<string, Promise<Resource[] | undefined>>()

  constructor(
    readonly context: string,
    readonly server: string,
    private readonly url: URL,
    private readonly credentials: Credentials,
    private readonly defaultNamespace: string,
  ) {
    const secure = url.protocol === 'https:'
    this.agent = secure ? new https.Agent({keepAlive: true, maxSockets: MAX_SOCKETS, ...this.tls()}) : new http.Agent({keepAlive: true, maxSockets: MAX_SOCKETS})
    this.basePath = url.pathname.replace(/\/+$/, '')
  }

  async read(ref: ObjectRef, what = `reading ${objectKey(ref)}`): Promise<KubeObject | undefined> {
    try {
      return await this.request<KubeObject>('GET', await this.objectPath(ref, what))
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined
      throw error
    }
  }

  async apply(object: ObjectRef & KubeObject, options: ApplyOptions): Promise<KubeObject> {
    const what = options.what ?? `applying ${objectKey(object)}`
    const query = {fieldManager: options.fieldManager, force: String(options.force ?? false), ...(options.dryRun ? {dryRun: 'All'} : {})}
    // JSON is YAML: the apply patch is the object as it is.
    return this.request<KubeObject>('PATCH', await this.objectPath(object, what), {query, body: object, contentType: 'application/apply-patch+yaml', what})
  }

  async list(type: TypeRef, options: ListOptions = {}): Promise<KubeObject[]> {
    const what = options.what ?? `listing ${type.kind}`
    try {
      const list = await this.request<{items?: KubeObject[]}>('GET', await this.collectionPath(type, options.namespace, what), {
        query: options.labelSelector ? {labelSelector: options.labelSelector} : {},
        what,
      })
      return (list.items ?? []).map((item) => ({...item, apiVersion: type.apiVersion, kind: type.kind}))
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return []
      throw error
    }
  }

  async listOwned(types: TypeRef[], labelSelector: string): Promise<KubeObject[]> {
    return (await Promise.all(types.map((type) => this.list(type, {labelSelector})))).flat()
  }

  async create(object: ObjectRef & KubeObject, what = `creating ${objectKey(object)}`): Promise<KubeObject> {
    return this.request<KubeObject>('POST', await this.collectionPath(object, object.metadata.namespace ?? this.defaultNamespace, what, true), {body: object, what})
  }

  async replace(object: ObjectRef & KubeObject, what = `replacing ${objectKey(object)}`): Promise<KubeObject> {
    return this.request<KubeObject>('PUT', await this.objectPath(object, what), {body: object, what})
  }

  async patch(ref: ObjectRef, patch: Record<string, unknown>, options: {type: 'merge' | 'strategic'; fieldManager: string; what?: string}): Promise<KubeObject> {
    const what = options.what ?? `patching ${objectKey(ref)}`
    const contentType = options.type === 'merge' ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json'
    return this.request<KubeObject>('PATCH', await this.objectPath(ref, what), {query: {fieldManager: options.fieldManager}, body: patch, contentType, what})
  }

  async delete(ref: ObjectRef, options: {foreground?: boolean; what?: string} = {}): Promise<boolean> {
    const what = options.what ?? `deleting ${objectKey(ref)}`
    try {
      await this.request('DELETE', await this.objectPath(ref, what), {query: options.foreground ? {propagationPolicy: 'Foreground'} : {}, what})
      return true
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false
      throw error
    }
  }

  waitFor(ref: ObjectRef, done: (object: KubeObject | undefined) => boolean, options: WaitOptions): Promise<{done: boolean; object: KubeObject | undefined}> {
    return pollUntil(() => this.read(ref), done, options)
  }

  async authorize(request: RequestOptions): Promise<void> {
    Object.assign(request, this.tls())
    const {authorization} = this.credentials
    if (!authorization) return
    if (Array.isArray(request.headers)) request.headers = [...(request.headers as string[]), 'authorization', authorization]
    else request.headers = {...(request.headers as http.OutgoingHttpHeaders | undefined), authorization}
  }

  private tls(): Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'> {
    const {ca, cert, key, rejectUnauthorized, servername} = this.credentials
    return {...(ca ? {ca} : {}), ...(cert ? {cert} : {}), ...(key ? {key} : {}), rejectUnauthorized, ...(servername ? {servername} : {})}
  }

  private groupVersionPath(apiVersion: string): string {
    return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  }

  /** The type's resource, from the server's discovery document of its group version. */
  private async resource(type: TypeRef, what: string): Promise<Resource> {
    let resources = this.discovery.get(type.apiVersion)
    if (!resources) {
      resources = this.request<{resources?: Resource[]}>('GET', this.groupVersionPath(type.apiVersion), {what}).then(
        (list) => (list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => ({name: r.name, kind: r.kind, namespaced: r.namespaced})),
        (error: unknown) => {
          if (error instanceof KubeApiError && error.status === 404) return undefined
          throw error
        },
      )
      this.discovery.set(type.apiVersion, resources)
      // A failed lookup is not remembered: the next call asks again.
      resources.catch(() => this.discovery.delete(type.apiVersion))
    }
    const found = (await resources)?.find((r) => r.kind === type.kind)
    if (!found) throw new KubeApiError(404, `${what}: the API server does not serve ${type.kind} (${type.apiVersion})`, 'NotFound')
    return found
  }

  private async collectionPath(type: TypeRef, namespace: string | undefined, what: string, defaultNamespace = false): Promise<string> {
    const resource = await this.resource(type, what)
    const ns = resource.namespaced ? (namespace ?? (defaultNamespace ? this.defaultNamespace : undefined)) : undefined
    return `${this.groupVersionPath(type.apiVersion)}${ns ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${resource.name}`
  }

  private async objectPath(ref: ObjectRef, what: string): Promise<string> {
    return `${await this.collectionPath(ref, ref.metadata.namespace, what, true)}/${encodeURIComponent(ref.metadata.name)}`
  }

  /** One API call; a failure is a KubeApiError or kube-unreachable (toKubeError, as for client-node). */
  private request<T>(method: string, apiPath: string, options: {query?: Record<string, string>; body?: unknown; contentType?: string; what?: string} = {}): Promise<T> {
    const what = options.what ?? `${method} ${apiPath}`
    const query = new URLSearchParams(options.query ?? {}).toString()
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    const headers: http.OutgoingHttpHeaders = {accept: 'application/json'}
    if (this.credentials.authorization) headers.authorization = this.credentials.authorization
    if (body) {
      headers['content-type'] = options.contentType ?? 'application/json'
      headers['content-length'] = body.length
    }
    const transport = this.url.protocol === 'https:' ? https : http
    return new Promise<T>((resolve, reject) => {
      const request = transport.request(
        {protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, method, path: `${this.basePath}${apiPath}${query ? `?${query}` : ''}`, headers, agent: this.agent},
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', (error) => reject(failure(error, what)))
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const status = response.statusCode ?? 0
            // Shaped like client-node's ApiException, so that errors read the same from both adapters.
            if (status >= 300 || status < 200) return reject(failure(Object.assign(new Error(`HTTP ${status}`), {code: status, body: text}), what))
            try {
              resolve((text === '' ? {} : JSON.parse(text)) as T)
            } catch {
              reject(failure(Object.assign(new Error(`HTTP ${status}`), {code: 502, body: {message: `not a JSON response (HTTP ${status})`}}), what))
            }
          })
        },
      )
      request.on('error', (error) => reject(failure(error, what)))
      request.end(body)
    })
  }
}

/** toKubeError's result (always an Error for what this adapter hands it). */
function failure(error: unknown, what: string): Error {
  const converted = toKubeError(error, what)
  return converted instanceof Error ? converted : new Error(String(converted))
}
