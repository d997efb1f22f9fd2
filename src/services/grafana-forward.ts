/**
 * `fedobs open grafana`: a local port forwarded to the hub's Grafana through the hub API server
 * (pods/portforward, as `kubectl port-forward` does), which keeps working when the Grafana pod is
 * replaced: every local connection opens its own stream to the pod picked last, and the pod is
 * picked again when it goes away or stops being Ready.
 */
import {createServer, type Server, type Socket} from 'node:net'
import {OperationError, UsageError} from '../lib/errors.js'
import type {Kube, KubeObject} from '../kube/api.js'
import {openPortForward, PortForwardError, type PortForwardStream} from '../kube/portforward.js'
import {LABELS, NAMESPACES} from '../render/render.js'
import {SECRETS} from '../render/security.js'

export const GRAFANA_NAMESPACE = NAMESPACES.monitoring
export const GRAFANA_SELECTOR = `${LABELS.name}=grafana`
/** Grafana's own port (templates/hub/grafana.yaml: containerPort `http`). */
export const GRAFANA_PORT = 3000

export type ForwardEvent = {type: 'pod-changed'; from: string; to: string} | {type: 'pod-lost'; pod: string; reason: string} | {type: 'connection-failed'; pod: string; message: string}

export interface GrafanaForwardOptions {
  kube: Kube
  /** Local address to listen on (127.0.0.1 unless the user asks otherwise). */
  address: string
  /** Local port to listen on (0: any free port). */
  port: number
  /** When the port is busy: take a free one (the default port) or fail (a port the user named). */
  fallbackToFreePort: boolean
  signal: AbortSignal
  /** How often to check that the pod is still there and Ready (default 5 s). */
  recheckMs?: number
  onEvent?: (event: ForwardEvent) => void
  log?: (message: string) => void
}

export interface GrafanaForward {
  /** http://ADDRESS:PORT/ */
  readonly url: string
  readonly address: string
  readonly localPort: number
  /** True when the wanted port was busy and another one was taken. */
  readonly portFallback: boolean
  readonly namespace: string
  /** The pod forwarded to right now. */
  pod(): string
  /** Stop listening and close every forwarded connection. */
  stop(): Promise<void>
}

interface PickedPod {
  name: string
  port: number
}

/** Running, Ready and not being deleted: a pod a forward can use. */
export function isReadyPod(pod: KubeObject): boolean {
  const status = pod.status as {phase?: string; conditions?: Array<{type?: string; status?: string}>} | undefined
  return !pod.metadata?.deletionTimestamp && status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** Why a pod is not usable, in a few words. */
function podState(pod: KubeObject): string {
  if (pod.metadata?.deletionTimestamp) return 'terminating'
  const status = pod.status as {phase?: string; conditions?: Array<{type?: string; status?: string; reason?: string}>; containerStatuses?: Array<{state?: {waiting?: {reason?: string}}}>} | undefined
  const waiting = status?.containerStatuses?.map((c) => c.state?.waiting?.reason).find(Boolean)
  if (waiting) return waiting
  if (status?.phase !== 'Running') return status?.phase ?? 'Unknown'
  return 'not Ready'
}

/** The container port named http of the grafana container (else Grafana's default). */
function grafanaPort(pod: KubeObject): number {
  const containers = (pod.spec as {containers?: Array<{name?: string; ports?: Array<{name?: string; containerPort?: number}>}>} | undefined)?.containers ?? []
  const container = containers.find((c) => c.name === 'grafana') ?? containers[0]
  return container?.ports?.find((p) => p.name === 'http')?.containerPort ?? GRAFANA_PORT
}

/**
 * The Grafana pod to forward to: Ready, the oldest first (a rollout's new pod takes over once the old
 * one is gone). Throws when there is none, naming the namespace, the label and what the pods are doing.
 */
export async function pickGrafanaPod(kube: Kube): Promise<PickedPod> {
  const pods = await kube.list(
    {apiVersion: 'v1', kind: 'Pod'},
    {namespace: GRAFANA_NAMESPACE, labelSelector: GRAFANA_SELECTOR, what: `listing the Grafana pods (${GRAFANA_NAMESPACE}, ${GRAFANA_SELECTOR})`},
  )
  const ready = pods.filter(isReadyPod).sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')))
  const pod = ready[0]
  if (pod) return {name: pod.metadata!.name!, port: grafanaPort(pod)}
  const where = `namespace ${GRAFANA_NAMESPACE}, label ${GRAFANA_SELECTOR}`
  if (pods.length === 0) {
    throw new OperationError(`no Grafana pod on the hub (context ${kube.context}; ${where})`, {
      code: 'grafana-not-found',
      hint: 'Deploy the hub first: `fedobs deploy hub` (or check that --context names the hub).',
    })
  }
  const states = pods.map((p) => `${p.metadata?.name} (${podState(p)})`).join(', ')
  throw new OperationError(`no Ready Grafana pod on the hub (context ${kube.context}; ${where}): ${states}`, {
    code: 'grafana-not-ready',
    hint: `See why: \`kubectl --context ${kube.context} -n ${GRAFANA_NAMESPACE} describe pod -l ${GRAFANA_SELECTOR}\`; \`fedobs deploy hub\` waits until it is Ready.`,
  })
}

/** The Grafana admin password from Secret monitoring/grafana-admin (key admin-password), or undefined. */
export async function readGrafanaPassword(kube: Kube): Promise<string | undefined> {
  const secret = await kube.read(
    {apiVersion: 'v1', kind: 'Secret', metadata: {name: SECRETS.grafanaAdmin, namespace: GRAFANA_NAMESPACE}},
    `reading Secret ${GRAFANA_NAMESPACE}/${SECRETS.grafanaAdmin}`,
  )
  const value = secret?.data?.['admin-password']
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8')
}

/** Listen on address:port; EADDRINUSE comes back as `busy`. */
function listen(server: Server, address: string, port: number): Promise<'ok' | 'busy'> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      if (error.code === 'EADDRINUSE') resolve('busy')
      else reject(error)
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve('ok')
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({host: address, port, exclusive: true})
  })
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address
}

/**
 * Pick the Grafana pod, listen locally and forward every connection to it until `signal` aborts
 * (or stop() is called). Resolves once listening.
 */
export async function startGrafanaForward(options: GrafanaForwardOptions): Promise<GrafanaForward> {
  const {kube, address, signal} = options
  const log = options.log ?? (() => {})
  let current = await pickGrafanaPod(kube)
  const server = createServer({pauseOnConnect: true})
  let outcome: 'ok' | 'busy'
  try {
    outcome = await listen(server, address, options.port)
    if (outcome === 'busy' && options.fallbackToFreePort) outcome = await listen(server, address, 0)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES')
      throw new UsageError(`cannot listen on ${formatHost(address)}:${options.port}: permission denied`, {hint: 'Ports below 1024 need privileges: choose another --port.', code: 'port-denied'})
    if (code === 'EADDRNOTAVAIL')
      throw new UsageError(`cannot listen on ${address}: no such address on this machine`, {hint: '--address must be an address of this machine (127.0.0.1 by default).', code: 'bad-address'})
    throw error
  }
  if (outcome === 'busy') {
    throw new UsageError(`port ${options.port} on ${formatHost(address)} is in use`, {hint: 'Choose another --port, or leave --port out to take 3000 or else a free port.', code: 'port-busy'})
  }
  const bound = server.address()
  const localPort = typeof bound === 'object' && bound ? bound.port : options.port
  const streams = new Set<PortForwardStream>()
  const sockets = new Set<Socket>()
  let stopped = false
  let repicking: Promise<PickedPod | undefined> | undefined

  /** Pick again (once at a time): the pod in use went away or a stream to it failed. */
  const repick = (reason: string): Promise<PickedPod | undefined> =>
    (repicking ??= (async () => {
      try {
        const next = await pickGrafanaPod(kube)
        if (next.name !== current.name) {
          options.onEvent?.({type: 'pod-changed', from: current.name, to: next.name})
          current = next
        }
        return next
      } catch (error) {
        options.onEvent?.({type: 'pod-lost', pod: current.name, reason: `${reason}; ${(error as Error).message}`})
        return undefined
      } finally {
        repicking = undefined
      }
    })())

  const open = async (): Promise<PortForwardStream> => {
    const first = current
    try {
      return await openPortForward(kube, {namespace: GRAFANA_NAMESPACE, pod: first.name, port: first.port}, signal)
    } catch (error) {
      if (!(error instanceof PortForwardError) || signal.aborted) throw error
      // The pod may be gone (404) or no longer running: pick again and retry once on another pod.
      const next = await repick(error.message)
      if (!next || next.name === first.name) throw error
      return openPortForward(kube, {namespace: GRAFANA_NAMESPACE, pod: next.name, port: next.port}, signal)
    }
  }

  server.on('connection', (local: Socket) => {
    sockets.add(local)
    local.on('close', () => sockets.delete(local))
    local.on('error', () => local.destroy())
    void (async () => {
      let remote: PortForwardStream
      try {
        remote = await open()
      } catch (error) {
        if (!signal.aborted) options.onEvent?.({type: 'connection-failed', pod: current.name, message: (error as Error).message})
        local.destroy()
        return
      }
      if (local.destroyed || stopped) {
        remote.destroy()
        return
      }
      streams.add(remote)
      log(`connection from ${local.remoteAddress}:${local.remotePort} → pod ${GRAFANA_NAMESPACE}/${remote.target.pod}:${remote.target.port}`)
      remote.on('error', (error) => {
        if (!stopped) options.onEvent?.({type: 'connection-failed', pod: remote.target.pod, message: error.message})
        local.destroy()
      })
      remote.on('close', () => {
        streams.delete(remote)
        local.end()
      })
      local.on('close', () => remote.destroy())
      local.pipe(remote)
      remote.pipe(local)
      local.resume()
    })()
  })

  // Watch the pod: when it goes (a restart, a rollout), pick the next Ready one before anyone connects.
  const recheckMs = options.recheckMs ?? 5000
  let timer: NodeJS.Timeout | undefined
  const recheck = async (): Promise<void> => {
    try {
      const pod = await kube.read({apiVersion: 'v1', kind: 'Pod', metadata: {name: current.name, namespace: GRAFANA_NAMESPACE}})
      if (!pod || !isReadyPod(pod)) await repick(pod ? `pod ${current.name} is ${podState(pod)}` : `pod ${current.name} is gone`)
    } catch (error) {
      log(`checking pod ${current.name}: ${(error as Error).message}`)
    }
    if (!stopped) timer = setTimeout(() => void recheck(), recheckMs)
  }
  timer = setTimeout(() => void recheck(), recheckMs)

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    if (timer) clearTimeout(timer)
    for (const stream of streams) stream.destroy()
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  signal.addEventListener('abort', () => void stop(), {once: true})

  return {
    url: `http://${formatHost(address)}:${localPort}/`,
    address,
    localPort,
    portFallback: options.port !== 0 && localPort !== options.port,
    namespace: GRAFANA_NAMESPACE,
    pod: () => current.name,
    stop,
  }
}
