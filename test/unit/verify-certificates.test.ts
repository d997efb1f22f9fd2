import {describe, expect, it} from 'vitest'
import type {Federation} from '../../src/federation/model.js'
import type {CertificateStatus, InstalledCheck} from '../../src/pki/authority.js'
import {certificateChecks} from '../../src/verify/certificates.js'
import {exampleFederation} from '../helpers/federation.js'

const federation = exampleFederation()
const HUB = federation.hub.name
const EDGE = 'fed-observability-remote'
const NOW = Date.parse('2026-11-28T00:00:00Z')
const days = (n: number): string => new Date(NOW + n * 86_400_000).toISOString()

function facts(overrides: {gateway?: string; installed?: InstalledCheck[]} = {}) {
  const certificates: CertificateStatus[] = [
    {kind: 'root', subject: 'CN=root', notAfter: days(3000), state: 'valid'},
    {kind: 'gateway', subject: 'otel-gateway', notAfter: overrides.gateway ?? days(80), state: 'valid'},
  ]
  const installed = overrides.installed ?? [
    {cluster: HUB, state: 'ok', detail: '', notAfter: days(80)},
    {cluster: EDGE, state: 'ok', detail: '', notAfter: days(80)},
  ]
  return {certificates, installed}
}

const statusOf = (federationUsed: Federation, f: ReturnType<typeof facts>, cluster?: string, id = 'client-cert') =>
  certificateChecks(federationUsed, f, [HUB, EDGE], NOW).checks.find((c) => c.id === id && (cluster === undefined || c.cluster === cluster))

describe('verify: certificates', () => {
  it('passes when every certificate is valid for more than 14 days', () => {
    const group = certificateChecks(federation, facts(), [HUB, EDGE], NOW)
    expect(group.name).toBe('certificates')
    expect(group.checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok'])
  })

  it('warns 14 days before an expiry and fails once expired', () => {
    expect(statusOf(federation, facts({gateway: days(13)}), undefined, 'gateway-cert')).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('expires in 13 day(s)'),
      hint: expect.stringContaining('certs rotate --gateway'),
    })
    expect(statusOf(federation, facts({gateway: days(15)}), undefined, 'gateway-cert')?.status).toBe('ok')
    expect(statusOf(federation, facts({gateway: days(-1)}), undefined, 'gateway-cert')?.status).toBe('fail')
    const expiring = facts({
      installed: [
        {cluster: HUB, state: 'ok', detail: '', notAfter: days(80)},
        {cluster: EDGE, state: 'ok', detail: '', notAfter: days(2)},
      ],
    })
    expect(statusOf(federation, expiring, EDGE)).toMatchObject({status: 'warn', hint: expect.stringContaining(`fedobs certs rotate ${EDGE}`)})
  })

  it.each([
    ['missing', 'fail', `connect ${EDGE} hub`],
    ['foreign', 'fail', `certs rotate ${EDGE}`],
    ['expired', 'fail', `certs rotate ${EDGE}`],
    ['revoked', 'fail', 'new CA'],
    ['stale', 'warn', `certs rotate ${EDGE}`],
    ['unreachable', 'warn', 'kubeconfig context'],
  ] as const)('an edge whose installed certificate is %s: %s, with its next step', (state, status, hint) => {
    const f = facts({
      installed: [
        {cluster: HUB, state: 'ok', detail: '', notAfter: days(80)},
        {cluster: EDGE, state, detail: state},
      ],
    })
    expect(statusOf(federation, f, EDGE)).toMatchObject({status, cluster: EDGE, hint: expect.stringContaining(hint)})
  })

  it('fails when the hub has no CA, warns when it cannot be read or mTLS is off', () => {
    expect(certificateChecks(federation, {noAuthority: true}, [HUB], NOW).checks[0]).toMatchObject({status: 'fail', hint: expect.stringContaining('fedobs deploy hub')})
    expect(certificateChecks(federation, {unavailable: 'no context'}, [HUB], NOW).checks[0]).toMatchObject({status: 'warn'})
    const plain = {...federation, security: {...federation.security, mtls: false}}
    expect(certificateChecks(plain, facts(), [HUB], NOW).checks).toEqual([expect.objectContaining({id: 'mtls', status: 'warn'})])
  })
})
