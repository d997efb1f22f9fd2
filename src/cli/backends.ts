import {Flags} from '@oclif/core'
import {UsageError} from '../lib/errors.js'

/**
 * Where verify (and `up`, `status`) reach the hub's Prometheus, Loki and Tempo: these URLs, else the
 * environment (FEDOBS_PROMETHEUS_URL, ...: a sandbox whose backends the service proxy cannot reach
 * exports them), else the hub API server's service proxy.
 */
export const backendUrlFlags = {
  'prometheus-url': Flags.string({description: 'Query Prometheus here instead of through the API server.', env: 'FEDOBS_PROMETHEUS_URL', helpValue: 'URL', helpGroup: 'BACKENDS'}),
  'loki-url': Flags.string({description: 'Query Loki here instead of through the API server.', env: 'FEDOBS_LOKI_URL', helpValue: 'URL', helpGroup: 'BACKENDS'}),
  'tempo-url': Flags.string({description: 'Query Tempo here instead of through the API server.', env: 'FEDOBS_TEMPO_URL', helpValue: 'URL', helpGroup: 'BACKENDS'}),
}

/** The URL flags, checked: each an http(s) URL; empty means not given. */
export function backendUrls(flags: {'prometheus-url'?: string; 'loki-url'?: string; 'tempo-url'?: string}): {prometheusUrl?: string; lokiUrl?: string; tempoUrl?: string} {
  const urls: {prometheusUrl?: string; lokiUrl?: string; tempoUrl?: string} = {}
  const keys = {'prometheus-url': 'prometheusUrl', 'loki-url': 'lokiUrl', 'tempo-url': 'tempoUrl'} as const
  for (const flag of ['prometheus-url', 'loki-url', 'tempo-url'] as const) {
    const value = flags[flag]
    if (value === undefined || value === '') continue
    if (!/^https?:\/\/[^\s]+$/.test(value)) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not an http(s) URL`, {hint: `It may come from ${backendUrlFlags[flag].env}.`})
    urls[keys[flag]] = value
  }
  return urls
}
