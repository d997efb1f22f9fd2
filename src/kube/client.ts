import {existsSync} from 'node:fs'
import path from 'node:path'
import {OperationError, UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'

type K8s = typeof import('@kubernetes/client-node')

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: {
    name?: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    resourceVersion?: string
    generation?: number
    uid?: string
    deletionTimestamp?: string | Date
    managedFields?: unknown[]
    ownerReferences?: Array<{kind: string; name: string}>
    creationTimestamp?: string | Date
  }
  spec?: any
  status?: any
  data?: Record<string, string>
  [key: string]: unknown
}

/** A Kubernetes API failure without request details (no headers, no credentials). */
export class KubeApiError extends OperationError {
  readonly status: number
  readonly reason?: string
  readonly causes: Array<{message?: string; field?: string}>
  constructor(status: number, message: string, reason?: string, causes: Array<{message?: string; field?: string}> = []) {
    super(message, {code: `kube-${status}`})
    this.status = status
    this.reason = reason
    this.causes = causes
  }
}

export function toKubeError(error: unknown, what: string): unknown {
  const e = error as {code?: number; body?: unknown; cause?: {code?: string}; message?: string}
  if (typeof e?.code === 'number') {
    let status: {message?: string; reason?: string; details?: {causes?: Array<{message?: string; field?: string}>}} = {}
    try {
      status = typeof e.body === 'string' ? JSON.parse(e.body) : ((e.body as typeof status) ?? {})
    } catch {
      // not a Status document
    }
    return new KubeApiError(e.code, `${what}: ${status.message ?? `HTTP ${e.code}`}`, status.reason, status.details?.causes ?? [])
  }
  const network = e?.cause?.code ?? (e as {code?: string})?.code
  if (typeof network === 'string') return new OperationError(`${what}: cannot reach the Kubernetes API server (${network})`, {code: 'kube-unreachable'})
  return error
}

export interface Kube {
  k8s: K8s
  config: InstanceType<K8s['KubeConfig']>
  objects: InstanceType<K8s['KubernetesObjectApi']>
  core: InstanceType<K8s['CoreV1Api']>
  apps: InstanceType<K8s['AppsV1Api']>
  context: string
  server: string
}

/**
 * A client for one context of one kubeconfig. Loads @kubernetes/client-node only when a command
 * talks to a cluster.
 */
export async function connectKube(kubeconfigFile: string, context: string): Promise<Kube> {
  if (!existsSync(kubeconfigFile)) {
    throw new UsageError(`kubeconfig ${kubeconfigFile} does not exist`, {hint: 'Run `fedobs cluster create` or `fedobs cluster kubeconfig NAME` first, or pass --kubeconfig.', code: 'no-kubeconfig'})
  }
  const k8s = await import('@kubernetes/client-node')
  const config = new k8s.KubeConfig()
  try {
    config.loadFromFile(kubeconfigFile)
  } catch {
    throw new UsageError(`${kubeconfigFile} is not a valid kubeconfig`, {code: 'bad-kubeconfig'})
  }
  const names = config.getContexts().map((c) => c.name)
  if (!names.includes(context)) {
    throw new UsageError(`no context "${context}" in ${path.basename(kubeconfigFile)}`, {
      suggestions: closest(context, names),
      hint: 'Run `fedobs cluster kubeconfig NAME` to fetch it, set `context:` for the cluster in the federation file, or pass --context.',
      code: 'no-context',
    })
  }
  config.setCurrentContext(context)
  return {
    k8s,
    config,
    objects: k8s.KubernetesObjectApi.makeApiClient(config),
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    context,
    server: config.getCurrentCluster()?.server ?? '',
  }
}

export function objectKey(object: KubeObject): string {
  return `${object.kind}/${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`
}

/**
 * The object as client-node's typed model, for apply and patch. client-node serializes a request
 * body through its models, where a JSON field whose name is reserved in TypeScript has another
 * name (a NetworkPolicy rule's `from` is `_from`): a plain object's `from` would be dropped
 * silently, turning "allow from these peers" into "allow from anyone". Reading the object into the
 * model first keeps every field.
 */
export function typedForApply<T extends KubeObject>(kube: Kube, object: T): T {
  // loadYaml reads a document into the model its apiVersion/kind names (JSON is YAML).
  return kube.k8s.loadYaml<T>(JSON.stringify(object))
}
