/**
 * What fedobs needs of a Kubernetes cluster, and nothing more: read, apply, list (what it owns),
 * create, replace, patch, delete, wait. Services see only this interface; the implementation with
 * @kubernetes/client-node behind it is src/kube/client.ts (`connectKube`), and a test can hand a
 * service an object of its own.
 *
 * Every method throws a KubeApiError (status, reason, causes; never request details) for an API
 * failure, or an OperationError with code `kube-unreachable` when the API server cannot be reached.
 * Errors name what was being done: `what` replaces the default ("reading Secret a/b").
 */
import type {RequestOptions} from 'node:https'
import {OperationError} from '../lib/errors.js'
import type {Clock} from '../lib/time.js'

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
  spec?: unknown
  status?: unknown
  data?: Record<string, string>
  [key: string]: unknown
}

/** One object by type and name. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string}
}

/** One type of object. */
export interface TypeRef {
  apiVersion: string
  kind: string
}

export interface ApplyOptions {
  fieldManager: string
  /** Take over fields another manager owns. */
  force?: boolean
  /** Server-side dry run: validated and defaulted by the server, stored nowhere. */
  dryRun?: boolean
  what?: string
}

export interface ListOptions {
  namespace?: string
  labelSelector?: string
  what?: string
}

export interface WaitOptions {
  clock: Clock
  timeoutMs: number
  pollMs: number
  signal?: AbortSignal
}

export interface Kube {
  /** The kubeconfig context this talks to. */
  readonly context: string
  /** The API server's URL. */
  readonly server: string
  /** The object as the server holds it, or undefined when there is none. */
  read(ref: ObjectRef, what?: string): Promise<KubeObject | undefined>
  /** Server-side apply; returns the object as the server holds it (or would, in a dry run). */
  apply(object: ObjectRef & KubeObject, options: ApplyOptions): Promise<KubeObject>
  /** Objects of one type (none when the server does not serve the type). */
  list(type: TypeRef, options?: ListOptions): Promise<KubeObject[]>
  /** Every object of these types carrying these labels: what fedobs applied, from one list per type. */
  listOwned(types: TypeRef[], labelSelector: string): Promise<KubeObject[]>
  /** Create; throws a KubeApiError with status 409 when it exists. */
  create(object: ObjectRef & KubeObject, what?: string): Promise<KubeObject>
  /** Replace, guarded by metadata.resourceVersion: throws a KubeApiError with status 409 on a conflict. */
  replace(object: ObjectRef & KubeObject, what?: string): Promise<KubeObject>
  /** A JSON merge patch (RFC 7386) or a strategic merge patch. */
  patch(ref: ObjectRef, patch: Record<string, unknown>, options: {type: 'merge' | 'strategic'; fieldManager: string; what?: string}): Promise<KubeObject>
  /** Delete; false when it was already gone. `foreground` waits for its dependents on the server. */
  delete(ref: ObjectRef, options?: {foreground?: boolean; what?: string}): Promise<boolean>
  /**
   * Poll the object until `done` holds for it (undefined: it does not exist); returns it then, or
   * undefined on timeout.
   */
  waitFor(ref: ObjectRef, done: (object: KubeObject | undefined) => boolean, options: WaitOptions): Promise<{done: boolean; object: KubeObject | undefined}>
  /** Puts the context's credentials and CA on an HTTPS request to the API server (its service proxy). */
  authorize(request: RequestOptions): Promise<void>
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

export function isKubeStatus(error: unknown, status: number): boolean {
  return error instanceof KubeApiError && error.status === status
}

export function objectKey(object: {kind?: string; metadata?: {name?: string; namespace?: string}}): string {
  return `${object.kind}/${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`
}

/** The reference of an object (what `read`, `delete` and `patch` take). */
export function refOf(object: KubeObject & TypeRef): ObjectRef {
  return {apiVersion: object.apiVersion, kind: object.kind, metadata: {name: object.metadata!.name!, ...(object.metadata?.namespace ? {namespace: object.metadata.namespace} : {})}}
}

/** The polling every `waitFor` implementation can share. */
export async function pollUntil(
  read: () => Promise<KubeObject | undefined>,
  done: (object: KubeObject | undefined) => boolean,
  options: WaitOptions,
): Promise<{done: boolean; object: KubeObject | undefined}> {
  const deadline = options.clock.now() + options.timeoutMs
  for (;;) {
    const object = await read()
    if (done(object)) return {done: true, object}
    if (options.clock.now() + options.pollMs > deadline) return {done: false, object}
    await options.clock.sleep(options.pollMs, options.signal)
  }
}
