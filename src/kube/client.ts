import {existsSync} from 'node:fs'
import path from 'node:path'
import type {RequestOptions} from 'node:https'
import {UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {namingFailures, plainHttpRefused, toKubeError} from './errors.js'
import {connectDirect} from './http.js'
import {objectKey, pollUntil, type ApplyOptions, type Kube, type KubeObject, type ListOptions, type ObjectRef, type TypeRef, type WaitOptions} from './api.js'

type K8s = typeof import('@kubernetes/client-node')

function statusOf(error: unknown): number | undefined {
  const code = (error as {code?: unknown})?.code
  return typeof code === 'number' ? code : undefined
}

/** The Kube adapter over @kubernetes/client-node's generic object API. */
class ClientNodeKube implements Kube {
  private readonly objects: InstanceType<K8s['KubernetesObjectApi']>

  constructor(
    private readonly k8s: K8s,
    private readonly config: InstanceType<K8s['KubeConfig']>,
    readonly context: string,
    readonly server: string,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(config)
  }

  async read(ref: ObjectRef, what = `reading ${objectKey(ref)}`): Promise<KubeObject | undefined> {
    try {
      return (await this.objects.read(ref)) as KubeObject
    } catch (error) {
      if (statusOf(error) === 404) return undefined
      throw toKubeError(error, what)
    }
  }

  async apply(object: ObjectRef & KubeObject, options: ApplyOptions): Promise<KubeObject> {
    try {
      return await this.objects.patch(this.typed(object), undefined, options.dryRun ? 'All' : undefined, options.fieldManager, options.force ?? false, this.k8s.PatchStrategy.ServerSideApply)
    } catch (error) {
      throw toKubeError(error, options.what ?? `applying ${objectKey(object)}`)
    }
  }

  async list(type: TypeRef, options: ListOptions = {}): Promise<KubeObject[]> {
    try {
      const list = await this.objects.list(type.apiVersion, type.kind, options.namespace, undefined, undefined, undefined, undefined, options.labelSelector)
      return (list.items as KubeObject[]).map((item) => ({...item, apiVersion: type.apiVersion, kind: type.kind}))
    } catch (error) {
      if (statusOf(error) === 404) return []
      throw toKubeError(error, options.what ?? `listing ${type.kind}`)
    }
  }

  async listOwned(types: TypeRef[], labelSelector: string): Promise<KubeObject[]> {
    return (await Promise.all(types.map((type) => this.list(type, {labelSelector})))).flat()
  }

  async create(object: ObjectRef & KubeObject, what = `creating ${objectKey(object)}`): Promise<KubeObject> {
    try {
      return await this.objects.create(this.typed(object))
    } catch (error) {
      throw toKubeError(error, what)
    }
  }

  async replace(object: ObjectRef & KubeObject, what = `replacing ${objectKey(object)}`): Promise<KubeObject> {
    try {
      return await this.objects.replace(this.typed(object))
    } catch (error) {
      throw toKubeError(error, what)
    }
  }

  async patch(ref: ObjectRef, patch: Record<string, unknown>, options: {type: 'merge' | 'strategic'; fieldManager: string; what?: string}): Promise<KubeObject> {
    const strategy = options.type === 'merge' ? this.k8s.PatchStrategy.MergePatch : this.k8s.PatchStrategy.StrategicMergePatch
    const body = {...patch, apiVersion: ref.apiVersion, kind: ref.kind, metadata: {...((patch.metadata as object | undefined) ?? {}), ...ref.metadata}}
    try {
      return await this.objects.patch(body as never, undefined, undefined, options.fieldManager, undefined, strategy)
    } catch (error) {
      throw toKubeError(error, options.what ?? `patching ${objectKey(ref)}`)
    }
  }

  async delete(ref: ObjectRef, options: {foreground?: boolean; what?: string} = {}): Promise<boolean> {
    try {
      await this.objects.delete(ref, undefined, undefined, undefined, undefined, options.foreground ? 'Foreground' : undefined)
      return true
    } catch (error) {
      if (statusOf(error) === 404) return false
      throw toKubeError(error, options.what ?? `deleting ${objectKey(ref)}`)
    }
  }

  waitFor(ref: ObjectRef, done: (object: KubeObject | undefined) => boolean, options: WaitOptions): Promise<{done: boolean; object: KubeObject | undefined}> {
    return pollUntil(() => this.read(ref), done, options)
  }

  async authorize(request: RequestOptions): Promise<void> {
    await this.config.applyToHTTPSOptions(request)
  }

  /**
   * The object as client-node's typed model, for apply and patch. client-node serializes a request
   * body through its models, where a JSON field whose name is reserved in TypeScript has another
   * name (a NetworkPolicy rule's `from` is `_from`): a plain object's `from` would be dropped
   * silently, turning "allow from these peers" into "allow from anyone". Reading the object into the
   * model first keeps every field.
   */
  private typed(object: KubeObject): never {
    // loadYaml reads a document into the model its apiVersion/kind names (JSON is YAML).
    return this.k8s.loadYaml<never>(JSON.stringify(object))
  }
}

/**
 * A client for one context of one kubeconfig: over node:https (http.ts) when the context's
 * credentials are static, else through @kubernetes/client-node, loaded only then.
 */
export async function connectKube(kubeconfigFile: string, context: string, cluster?: string): Promise<Kube> {
  if (!existsSync(kubeconfigFile)) {
    throw new UsageError(`kubeconfig ${kubeconfigFile} does not exist`, {hint: 'Run `fedobs cluster create` or `fedobs cluster kubeconfig NAME` first, or pass --kubeconfig.', code: 'no-kubeconfig'})
  }
  const direct = process.env.FEDOBS_KUBE_CLIENT === 'client-node' ? undefined : connectDirect(kubeconfigFile, context)
  if (direct) {
    const where = {...(cluster ? {cluster} : {}), kubeconfig: kubeconfigFile, context, server: direct.server}
    // Plain HTTP only to a server on this machine (a local API server, the sandbox), as with client-node below.
    if (direct.server.startsWith('http:') && !isLoopbackUrl(direct.server)) throw plainHttpRefused(where)
    return namingFailures(direct, where)
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
  const server = config.getCurrentCluster()?.server ?? ''
  const where = {...(cluster ? {cluster} : {}), kubeconfig: kubeconfigFile, context, server}
  if (server.startsWith('http:')) {
    // Like kubectl, talk plain HTTP to a server on this machine (a local API server, the sandbox):
    // there is no TLS to verify, which is what client-node's skipTLSVerify gate is about. Elsewhere, refuse.
    if (!isLoopbackUrl(server)) throw plainHttpRefused(where)
    const name = config.getCurrentCluster()!.name
    config.clusters = config.clusters.map((c) => (c.name === name ? {...c, skipTLSVerify: true} : c))
  }
  return namingFailures(new ClientNodeKube(k8s, config, context, server), where)
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    return host === 'localhost' || host === '::1' || /^127\./.test(host)
  } catch {
    return false
  }
}
