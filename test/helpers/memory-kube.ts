/**
 * An in-memory Kube (src/kube/api.ts) for unit tests of services: objects in a map, apply as a
 * shallow replace that bumps resourceVersion, every call recorded. Not a Kubernetes: only what the
 * services under test rely on (tests that need real semantics use a real API server).
 */
import {KubeApiError, objectKey, pollUntil, type ApplyOptions, type Kube, type KubeObject, type ListOptions, type ObjectRef, type TypeRef, type WaitOptions} from '../../src/kube/api.js'
import type {Clock} from '../../src/lib/time.js'

export class MemoryKube implements Kube {
  readonly context = 'memory'
  readonly server = 'https://memory.invalid'
  readonly objects = new Map<string, KubeObject>()
  readonly calls: string[] = []
  private version = 1

  constructor(objects: KubeObject[] = []) {
    for (const object of objects) this.put(object)
  }

  put(object: KubeObject): KubeObject {
    const stored = {...object, metadata: {...object.metadata, resourceVersion: String(this.version++)}}
    this.objects.set(objectKey(stored), stored)
    return stored
  }

  async read(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.calls.push(`read ${objectKey(ref)}`)
    return this.objects.get(objectKey(ref))
  }

  async apply(object: ObjectRef & KubeObject, options: ApplyOptions): Promise<KubeObject> {
    this.calls.push(`apply ${objectKey(object)}${options.dryRun ? ' (dry run)' : ''}`)
    if (options.dryRun) return object
    return this.put(object)
  }

  async list(type: TypeRef, options: ListOptions = {}): Promise<KubeObject[]> {
    this.calls.push(`list ${type.kind}${options.namespace ? ` in ${options.namespace}` : ''}`)
    const wanted = Object.fromEntries(
      (options.labelSelector ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => pair.split('=') as [string, string]),
    )
    return [...this.objects.values()].filter(
      (o) => o.kind === type.kind && (!options.namespace || o.metadata?.namespace === options.namespace) && Object.entries(wanted).every(([k, v]) => o.metadata?.labels?.[k] === v),
    )
  }

  async listOwned(types: TypeRef[], labelSelector: string): Promise<KubeObject[]> {
    return (await Promise.all(types.map((type) => this.list(type, {labelSelector})))).flat()
  }

  async create(object: ObjectRef & KubeObject): Promise<KubeObject> {
    this.calls.push(`create ${objectKey(object)}`)
    if (this.objects.has(objectKey(object))) throw new KubeApiError(409, `creating ${objectKey(object)}: already exists`, 'AlreadyExists')
    return this.put(object)
  }

  async replace(object: ObjectRef & KubeObject): Promise<KubeObject> {
    this.calls.push(`replace ${objectKey(object)}`)
    const current = this.objects.get(objectKey(object))
    if (current?.metadata?.resourceVersion !== object.metadata.resourceVersion) throw new KubeApiError(409, `replacing ${objectKey(object)}: conflict`, 'Conflict')
    return this.put(object)
  }

  async patch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    this.calls.push(`patch ${objectKey(ref)}`)
    const current = this.objects.get(objectKey(ref))
    if (!current) throw new KubeApiError(404, `patching ${objectKey(ref)}: not found`, 'NotFound')
    const metadata = (patch.metadata ?? {}) as {labels?: Record<string, string>}
    return this.put({...current, metadata: {...current.metadata, labels: {...current.metadata?.labels, ...metadata.labels}}})
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    this.calls.push(`delete ${objectKey(ref)}`)
    return this.objects.delete(objectKey(ref))
  }

  waitFor(ref: ObjectRef, done: (object: KubeObject | undefined) => boolean, options: WaitOptions): Promise<{done: boolean; object: KubeObject | undefined}> {
    return pollUntil(() => this.read(ref), done, options)
  }

  async authorize(): Promise<void> {}
}

/** A clock that moves only when something sleeps on it: no test waits in real time. */
export function manualClock(): Clock & {slept: number[]} {
  let now = 0
  const slept: number[] = []
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms)
      now += ms
    },
  }
}
