/**
 * Kubernetes API failures in words a user can act on: which cluster, which kubeconfig context,
 * which server, what went wrong and what to do. The adapter (client.ts) classifies a failure; the
 * wrapper here names where it happened, once, for every method of a Kube.
 */
import {OperationError, UsageError} from '../lib/errors.js'
import {KubeApiError, type Kube} from './api.js'

/** The API server could not be talked to at all (nothing listens, DNS, TLS, a refused protocol). */
export class KubeConnectionError extends OperationError {
  constructor(
    /** What fedobs was doing, e.g. "reading observability/otel-gateway". */
    readonly what: string,
    /** The problem in words, e.g. "connection refused". */
    readonly problem: string,
    /** A TLS problem: the kubeconfig's CA or the server's certificate is the issue. */
    readonly tls = false,
  ) {
    super(`${what}: cannot reach the Kubernetes API server (${problem})`, {code: 'kube-unreachable'})
  }
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS failure)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection failed',
}

/** A client-node / undici / Node error that means "could not talk to the server", as words; else undefined. */
export function connectionProblem(error: unknown): {problem: string; tls: boolean} | undefined {
  const e = error as {message?: string; code?: unknown; cause?: {code?: unknown; message?: string; cause?: {code?: unknown}}}
  if (typeof e?.message === 'string' && e.message.includes('HTTP protocol is not allowed when skipTLSVerify')) {
    return {problem: 'the server is plain HTTP and the kubeconfig does not mark it insecure-skip-tls-verify', tls: false}
  }
  const code = [e?.cause?.code, e?.cause?.cause?.code, e?.code].find((c): c is string => typeof c === 'string')
  if (code && NETWORK[code]) return {problem: NETWORK[code], tls: false}
  if (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(code)) return {problem: `the server's TLS certificate is not trusted (${code})`, tls: true}
  if (code) return {problem: code, tls: false}
  if (typeof e?.message === 'string' && /fetch failed/.test(e.message)) return {problem: e.cause?.message ?? 'the request failed', tls: false}
  return undefined
}

export interface Where {
  /** The federation's cluster name, when the context belongs to one. */
  cluster?: string
  kubeconfig: string
  context: string
  server: string
}

function place(where: Where): string {
  return `${where.cluster ? `cluster ${where.cluster}, ` : ''}context ${where.context}, server ${where.server || '(none)'}`
}

/** The error as the user should read it, naming the cluster, context and server; others unchanged. */
export function explainKubeError(error: unknown, where: Where): unknown {
  if (error instanceof NamedKubeError) return error
  const refresh = where.cluster ? `\`fedobs cluster kubeconfig ${where.cluster}\`` : '`fedobs cluster kubeconfig NAME`'
  if (error instanceof KubeConnectionError) {
    const hint = error.tls
      ? `The kubeconfig's CA does not match the server: fetch the cluster's kubeconfig again (${refresh}), or pick another context with --context.`
      : `Is the cluster running (\`fedobs cluster list\`) and is ${where.kubeconfig} current? Fetch the kubeconfig again with ${refresh}, or choose the cluster with --context / --kubeconfig.`
    return new NamedKubeError(`${error.what}: cannot reach the Kubernetes API of ${place(where)}: ${error.problem}`, hint, error)
  }
  if (error instanceof KubeApiError && (error.status === 401 || error.status === 403)) {
    const hint =
      error.status === 401
        ? `The credentials of context ${where.context} in ${where.kubeconfig} are not accepted (expired or rotated?): fetch them again with ${refresh}.`
        : `The user of context ${where.context} lacks the permission; fedobs needs cluster-admin rights (LKE's kubeconfig has them).`
    return new NamedKubeError(`${error.message} (${place(where)})`, hint, error)
  }
  return error
}

class NamedKubeError extends OperationError {
  constructor(message: string, hint: string, cause: unknown) {
    super(message, {hint, cause, code: (cause as {code?: string}).code ?? 'kube-unreachable'})
  }
}

/** The same Kube, whose every failure names the cluster, context and server (see explainKubeError). */
export function namingFailures(kube: Kube, where: Omit<Where, 'context' | 'server'>): Kube {
  const full: Where = {...where, context: kube.context, server: kube.server}
  return new Proxy(kube, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (result instanceof Promise) {
          return result.catch((error: unknown) => {
            throw explainKubeError(error, full)
          })
        }
        return result
      }
    },
  })
}

/** An http:// server elsewhere than this machine: fedobs does not send credentials over plain HTTP to it. */
export function plainHttpRefused(where: Where): UsageError {
  return new UsageError(`context ${where.context} of ${where.kubeconfig} points at ${where.server}: plain HTTP to another machine; fedobs will not send cluster credentials unencrypted`, {
    hint: `Use the server's https:// address (LKE serves only https), ${where.cluster ? `fetch the kubeconfig again with \`fedobs cluster kubeconfig ${where.cluster}\`, ` : ''}or choose another context with --context.`,
    code: 'plain-http',
  })
}

/** A client-node failure as a KubeApiError (or an OperationError when the server is unreachable). */
export function toKubeError(error: unknown, what: string): unknown {
  const e = error as {code?: number; body?: unknown; cause?: {code?: string}; message?: string}
  if (typeof e?.code === 'number') {
    let status: {message?: string; reason?: string; details?: {causes?: Array<{message?: string; field?: string}>}} = {}
    try {
      status = typeof e.body === 'string' ? (JSON.parse(e.body) as typeof status) : ((e.body as typeof status) ?? {})
    } catch {
      // not a Status document
    }
    return new KubeApiError(e.code, `${what}: ${status.message ?? `HTTP ${e.code}`}`, status.reason, status.details?.causes ?? [])
  }
  const connection = connectionProblem(error)
  if (connection) return new KubeConnectionError(what, connection.problem, connection.tls)
  return error
}
