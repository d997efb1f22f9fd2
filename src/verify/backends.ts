import {request as httpRequest, type OutgoingHttpHeaders} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'
import {OperationError} from '../lib/errors.js'
import type {Kube} from '../kube/api.js'

/**
 * How verify reaches the hub's backends: directly (--prometheus-url, ...) or through the hub API
 * server's service proxy (the default: no port-forward, no exposed ports, the kubeconfig's auth).
 */
export interface Backend {
  name: string
  /** Where, for messages (never credentials). */
  describe: string
  get(path: string, signal?: AbortSignal): Promise<unknown>
}

export interface PrometheusSample {
  metric: Record<string, string>
  value: [number, string]
}

const TIMEOUT_MS = 30_000

/** RequestOptions headers as one object: node also takes them as a flat [name, value, name, value, ...] list. */
export function headerObject(headers: RequestOptions['headers']): OutgoingHttpHeaders {
  // Array.isArray does not narrow a readonly array out of a union, hence the assertions.
  if (!Array.isArray(headers)) return {...(headers as OutgoingHttpHeaders | undefined)}
  const list = headers as readonly string[]
  const object: Record<string, string> = {}
  for (let i = 0; i + 1 < list.length; i += 2) object[list[i]!] = list[i + 1]!
  return object
}

function getJson(url: URL, options: RequestOptions, signal?: AbortSignal): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, {...options, method: 'GET', timeout: TIMEOUT_MS, signal, headers: {...headerObject(options.headers), Accept: 'application/json'}}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

async function fetchJson(name: string, describe: string, url: URL, options: RequestOptions, signal?: AbortSignal): Promise<unknown> {
  let answer: {status: number; body: string}
  try {
    answer = await getJson(url, options, signal)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new OperationError(`cannot reach ${name} at ${describe}: ${code}`, {
      code: 'backend-unreachable',
      hint: `Is the hub cluster up (\`fedobs cluster list\`) and deployed (\`fedobs deploy hub\`)? Or point verify at ${name} directly with --${name.toLowerCase()}-url.`,
    })
  }
  if (answer.status < 200 || answer.status >= 300) {
    const detail = answer.body.slice(0, 300).replace(/\s+/g, ' ').trim()
    throw new OperationError(`${name} at ${describe} answered ${answer.status}${detail ? `: ${detail}` : ''}`, {code: 'backend-error'})
  }
  try {
    return JSON.parse(answer.body)
  } catch {
    throw new OperationError(`${name} at ${describe} did not answer JSON`, {code: 'backend-error'})
  }
}

export function directBackend(name: string, base: string): Backend {
  const root = new URL(base.endsWith('/') ? base : `${base}/`)
  return {
    name,
    describe: root.origin + root.pathname.replace(/\/$/, ''),
    get: (path, signal) => fetchJson(name, root.origin, new URL(path.replace(/^\//, ''), root), {}, signal),
  }
}

/** https://<api server>/api/v1/namespaces/<ns>/services/<service>:<port>/proxy/<path> with the kubeconfig's credentials. */
export function serviceProxyBackend(name: string, kube: Kube, namespace: string, service: string, port: string): Backend {
  const base = `${kube.server.replace(/\/$/, '')}/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy/`
  return {
    name,
    describe: `service ${namespace}/${service}:${port} via the API server of context ${kube.context}`,
    async get(path, signal) {
      const url = new URL(path.replace(/^\//, ''), base)
      const options: RequestOptions = {}
      await kube.authorize(options)
      return fetchJson(name, `service ${namespace}/${service} (context ${kube.context}, server ${kube.server})`, url, options, signal)
    },
  }
}

/** One PromQL instant query; throws on an API error. */
export async function promQuery(prometheus: Backend, query: string, time?: number, signal?: AbortSignal): Promise<PrometheusSample[]> {
  const params = new URLSearchParams({query, ...(time ? {time: String(time)} : {})})
  const answer = (await prometheus.get(`api/v1/query?${params}`, signal)) as {status: string; error?: string; data?: {resultType: string; result: PrometheusSample[]}}
  if (answer.status !== 'success') throw new OperationError(`Prometheus rejected a query: ${answer.error ?? 'unknown error'}`, {code: 'bad-query'})
  return answer.data?.resultType === 'vector' ? answer.data.result : []
}

/** A string as a PromQL/LogQL double-quoted label value: nothing inside can end it early. */
export function quoteLabelValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/** A literal string inside a RE2 regex (for cluster_id=~"a|b"), then quoted. */
export function regexAlternatives(values: string[]): string {
  return quoteLabelValue(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))
}

export interface PrometheusSeries {
  metric: Record<string, string>
  values: Array<[number, string]>
}

/** One PromQL range query (start/end in Unix seconds, step in seconds); throws on an API error. */
export async function promQueryRange(prometheus: Backend, query: string, range: {start: number; end: number; step: number}, signal?: AbortSignal): Promise<PrometheusSeries[]> {
  const params = new URLSearchParams({query, start: String(range.start), end: String(range.end), step: String(range.step)})
  const answer = (await prometheus.get(`api/v1/query_range?${params}`, signal)) as {status: string; error?: string; data?: {resultType: string; result: PrometheusSeries[]}}
  if (answer.status !== 'success') throw new OperationError(`Prometheus rejected a query: ${answer.error ?? 'unknown error'}`, {code: 'bad-query'})
  return answer.data?.resultType === 'matrix' ? answer.data.result : []
}
