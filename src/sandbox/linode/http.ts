/** Test helper: call the fake over HTTP and check every answer against the spec on the way. */
import {matchRoute} from './routes.js'
import type {FakeLinode} from './server.js'
import {validateResponse} from './spec.js'

export interface Answer<T = any> {
  status: number
  headers: Headers
  text: string
  body: T
}

export interface CallOptions {
  body?: unknown
  /** Raw body text (e.g. broken JSON); wins over `body`. */
  raw?: string
  headers?: Record<string, string>
  /** Default: the fake's token; null sends no Authorization header. */
  token?: string | null
  filter?: unknown
}

export interface Client {
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<Answer<T>>
  /** Spec problems of every answer so far (pure spec, as published plus the documented patches). */
  problems: string[]
  /** Every body and header text received, to search for leaks. */
  received: string[]
  count: number
}

export function client(fake: FakeLinode): Client {
  const self: Client = {
    problems: [],
    received: [],
    count: 0,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {...options.headers}
      const token = options.token === undefined ? fake.token : options.token
      if (token !== null) headers.Authorization = `Bearer ${token}`
      if (options.filter !== undefined) headers['X-Filter'] = JSON.stringify(options.filter)
      let payload: string | undefined = options.raw
      if (payload === undefined && options.body !== undefined) payload = JSON.stringify(options.body)
      if (payload !== undefined) headers['Content-Type'] = 'application/json'
      const response = await fetch(`${fake.url}${path}`, {method, headers, ...(payload !== undefined ? {body: payload} : {})})
      const text = await response.text()
      const body: unknown = text === '' ? undefined : JSON.parse(text)
      self.count++
      self.received.push(text, JSON.stringify([...response.headers]))
      const bare = /^\/v4(?:beta)?(\/[^?]*)/.exec(path)?.[1]
      const match = bare ? matchRoute(method, bare) : undefined
      if (match && 'route' in match) {
        for (const problem of validateResponse(method, match.route.template, response.status, body)) self.problems.push(`${method} ${path}: ${problem}`)
      }
      return {status: response.status, headers: response.headers, text, body: body as never}
    },
  }
  return self
}

export const CLUSTER = {
  label: 'fed-observability-test',
  region: 'us-ord',
  k8s_version: '1.33',
  node_pools: [
    {type: 'g6-standard-4', count: 3},
    {type: 'g2-gpu-rtx4000a1-s', count: 1, autoscaler: {enabled: true, min: 1, max: 2}},
  ],
  tags: ['fedobs', 'fedobs:federation=fed-observability'],
  control_plane: {high_availability: false},
}
