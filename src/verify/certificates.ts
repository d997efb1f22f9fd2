/**
 * The `certificates` check group of `fedobs verify`: every certificate of the federation's PKI and
 * what each cluster has installed, judged from facts read from the clusters (verify itself reads
 * only). Warns 14 days before an expiry; fails on an expired certificate, a revoked cluster, a
 * cluster with no certificate or one from another CA.
 */
import type {Federation} from '../federation/model.js'
import type {CertificateStatus, InstalledCheck} from '../pki/authority.js'
import type {Check, CheckGroup} from './types.js'

/** What verify knows of the PKI: the report, or why there is none. */
export type CertificateFacts = {certificates: CertificateStatus[]; installed: InstalledCheck[]} | {unavailable: string} | {noAuthority: true}

const DAY_MS = 86_400_000
const WARN_DAYS = 14

function check(id: string, name: string, status: Check['status'], message: string, hint?: string, cluster?: string): Check {
  return {id, name, status, message, ...(hint && status !== 'ok' ? {hint} : {}), ...(cluster ? {cluster} : {})}
}

function expiryCheck(id: string, name: string, notAfter: string | undefined, now: number, hint: string, cluster?: string): Check {
  if (!notAfter) return check(id, name, 'fail', 'missing', hint, cluster)
  const days = (new Date(notAfter).getTime() - now) / DAY_MS
  if (days <= 0) return check(id, name, 'fail', `expired ${notAfter.slice(0, 10)}`, hint, cluster)
  if (days < WARN_DAYS) return check(id, name, 'warn', `expires in ${Math.floor(days)} day(s) (${notAfter.slice(0, 10)})`, hint, cluster)
  return check(id, name, 'ok', `valid until ${notAfter.slice(0, 10)} (${Math.floor(days)} days)`, undefined, cluster)
}

export function certificateChecks(federation: Federation, facts: CertificateFacts, clusters: string[], now = Date.now()): CheckGroup {
  const checks: Check[] = []
  if (!federation.security.mtls) {
    checks.push(
      check(
        'mtls',
        'mTLS',
        'warn',
        'off (security.mtls: false): the gateway accepts plaintext OTLP and trusts the cluster ids senders claim',
        'Remove security.mtls: false (or --no-mtls) and re-run fedobs deploy hub and fedobs connect for each edge.',
      ),
    )
    return {name: 'certificates', checks}
  }
  if ('unavailable' in facts) {
    checks.push(
      check('pki', 'certificates', 'warn', `not checked: ${facts.unavailable}`, "verify reads the federation CA from the hub (observability-hub/fedobs-pki): give it the hub's kubeconfig context."),
    )
    return {name: 'certificates', checks}
  }
  if ('noAuthority' in facts) {
    checks.push(
      check(
        'pki',
        'federation CA',
        'fail',
        'none on the hub (Secret observability-hub/fedobs-pki)',
        'Run fedobs deploy hub: it creates the CA and the gateway certificate; then fedobs connect each edge.',
      ),
    )
    return {name: 'certificates', checks}
  }
  const root = facts.certificates.find((c) => c.kind === 'root')
  checks.push(expiryCheck('root-ca', 'federation root CA', root?.notAfter, now, 'Every certificate of the federation chains to it: plan a new federation CA before it expires.'))
  const gateway = facts.certificates.find((c) => c.kind === 'gateway')
  checks.push(expiryCheck('gateway-cert', 'gateway certificate', gateway?.notAfter, now, 'fedobs certs rotate --gateway (fedobs deploy hub also renews it); the gateway reloads it without a restart.'))
  const installed = new Map(facts.installed.map((i) => [i.cluster, i]))
  for (const name of clusters) {
    const fact = installed.get(name)
    const id = 'client-cert'
    const label = `${name}: client certificate`
    const rotate = `fedobs certs rotate ${name === federation.hub.name ? 'hub' : name}`
    if (!fact) {
      checks.push(check(id, label, 'fail', 'never issued by the federation CA', `Run fedobs ${name === federation.hub.name ? 'deploy hub' : `connect ${name} hub`}.`, name))
      continue
    }
    switch (fact.state) {
      case 'ok': {
        const expiry = expiryCheck(id, label, fact.notAfter, now, `${rotate} (fedobs deploy and connect renew it within security.certificates.renewBefore).`, name)
        checks.push(expiry)
        break
      }
      case 'missing':
        checks.push(check(id, label, 'fail', `${fact.detail}: the gateway refuses its data`, `Run fedobs ${name === federation.hub.name ? 'deploy hub' : `connect ${name} hub`} to install it.`, name))
        break
      case 'foreign':
        checks.push(check(id, label, 'fail', `${fact.detail}: the gateway refuses its data`, `${rotate} installs one from the federation CA.`, name))
        break
      case 'expired':
        checks.push(check(id, label, 'fail', `${fact.detail}: the gateway refuses its data`, rotate, name))
        break
      case 'revoked':
        checks.push(check(id, label, 'fail', `${fact.detail}: the gateway refuses its data`, `When ${name} is safe again: ${rotate} (issues new credentials under a new CA).`, name))
        break
      case 'stale':
        checks.push(check(id, label, 'warn', fact.detail, `${rotate} installs the current one.`, name))
        break
      case 'unreachable':
        checks.push(check(id, label, 'warn', `not checked: ${fact.detail}`, `Give verify the cluster's kubeconfig context (fedobs cluster kubeconfig ${name}).`, name))
        break
    }
  }
  return {name: 'certificates', checks}
}
