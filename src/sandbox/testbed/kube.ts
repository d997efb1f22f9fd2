/** Kubernetes API clients and small helpers shared by the test bed's controllers. */
import {CoreV1Api, KubeConfig, StorageV1Api} from '@kubernetes/client-node'
import {stringify} from 'yaml'

export interface Clients {
  config: KubeConfig
  core: CoreV1Api
  storage: StorageV1Api
}

export function clientsFor(kubeconfig: string): Clients {
  const config = new KubeConfig()
  config.loadFromString(kubeconfig)
  return {config, core: config.makeApiClient(CoreV1Api), storage: config.makeApiClient(StorageV1Api)}
}

export const statusOf = (error: unknown): number | undefined => {
  const code = (error as {code?: unknown})?.code
  return typeof code === 'number' ? code : undefined
}

export async function ignoreStatus<T>(promise: Promise<T>, ...codes: number[]): Promise<T | undefined> {
  try {
    return await promise
  } catch (error) {
    if (codes.includes(statusOf(error) ?? -1)) return undefined
    throw error
  }
}

/**
 * A kubeconfig shaped like the one LKE hands out (cluster `lke<ID>`, user `lke<ID>-admin` with a
 * bearer token, context `lke<ID>-ctx`), self-contained: the CA is inline.
 */
export function kubeconfigYaml(options: {name: string; server: string; caPem: string; token: string}): string {
  const {name} = options
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [{name, cluster: {'certificate-authority-data': Buffer.from(options.caPem).toString('base64'), server: options.server}}],
      users: [{name: `${name}-admin`, user: {token: options.token}}],
      contexts: [{name: `${name}-ctx`, context: {cluster: name, namespace: 'default', user: `${name}-admin`}}],
      'current-context': `${name}-ctx`,
      // YAML 1.1 quoting: client-go reads a bare `y` or `on` as a boolean.
    },
    {version: '1.1'},
  )
}

/**
 * Run `step` every `intervalMs` (never overlapping) until stopped. Errors are kept, not thrown: a
 * controller outlives a restarting or stopping apiserver, as the real ones do.
 */
export function reconcileLoop(step: () => Promise<void>, intervalMs: number): {stop(): Promise<void>; lastError(): unknown} {
  let stopped = false
  let lastError: unknown
  let wake: (() => void) | undefined
  const done = (async () => {
    while (!stopped) {
      try {
        await step()
        lastError = undefined
      } catch (error) {
        lastError = error
      }
      if (stopped) break
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, intervalMs)
      })
    }
  })()
  return {
    lastError: () => lastError,
    async stop() {
      stopped = true
      wake?.()
      await done
    },
  }
}
