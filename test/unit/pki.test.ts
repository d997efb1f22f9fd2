import {X509Certificate} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {
  certificateStatus,
  clientCaBundle,
  createAuthority,
  DAY_MS,
  gatewayJwks,
  issueClientCredentials,
  issueGatewayCertificate,
  needsRenewal,
  revokeCluster,
  RevokedError,
} from '../../src/pki/authority.js'
import {tokenIssuer} from '../../src/federation/identity.js'
import {verifyIdentityToken} from '../../src/pki/token.js'
import {describeCertificate, isSignedBy, keyMatches, splitPemBundle} from '../../src/pki/x509.js'

// Node's own X.509 parser (OpenSSL) reads what @peculiar/x509 wrote: an independent check.
const node = (pem: string): X509Certificate => new X509Certificate(pem)

describe('the federation PKI', () => {
  it('makes a root CA that signs itself, with CA basic constraints', async () => {
    const state = await createAuthority('fed')
    const root = node(state.root.cert)
    expect(root.ca).toBe(true)
    expect(root.verify(root.publicKey)).toBe(true)
    expect(root.subject).toContain('CN=fedobs fed root CA')
  })

  it("issues a client certificate per cluster under that cluster's own CA, with an identity token for it", async () => {
    const state = await createAuthority('fed')
    const {state: next, credentials} = await issueClientCredentials(state, 'edge-1', 'edge', {validityMs: 90 * DAY_MS})
    const leaf = node(credentials.cert)
    const clusterCa = node(next.clusters['edge-1']!.ca.cert)
    expect(leaf.verify(clusterCa.publicKey)).toBe(true)
    expect(leaf.verify(node(state.root.cert).publicKey)).toBe(false)
    expect(clusterCa.verify(node(state.root.cert).publicKey)).toBe(true)
    expect(leaf.ca).toBe(false)
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']) // clientAuth only
    expect(leaf.subject).toContain('CN=edge-1')
    expect(await keyMatches(credentials.cert, credentials.key)).toBe(true)
    expect(credentials.caCert).toBe(state.root.cert)
    const claims = await verifyIdentityToken(credentials.token, state.tokenKey, tokenIssuer('fed'))
    expect(claims).toEqual({subject: 'edge-1', role: 'edge'})
    const days = (new Date(leaf.validTo).getTime() - Date.now()) / DAY_MS
    expect(days).toBeGreaterThan(89.9)
    expect(days).toBeLessThan(90.1)
  })

  it('renews under the same cluster CA, and a second cluster gets a different CA', async () => {
    let state = await createAuthority('fed')
    state = (await issueClientCredentials(state, 'edge-1', 'edge', {validityMs: DAY_MS})).state
    const firstCa = state.clusters['edge-1']!.ca.cert
    const renewed = await issueClientCredentials(state, 'edge-1', 'edge', {validityMs: DAY_MS})
    expect(renewed.state.clusters['edge-1']!.ca.cert).toBe(firstCa)
    expect(renewed.state.clusters['edge-1']!.client!.serial).not.toBe(state.clusters['edge-1']!.client!.serial)
    const other = await issueClientCredentials(renewed.state, 'edge-2', 'edge', {validityMs: DAY_MS})
    expect(other.state.clusters['edge-2']!.ca.cert).not.toBe(firstCa)
    expect(await isSignedBy(other.credentials.cert, firstCa)).toBe(false)
  })

  it('issues the gateway a server certificate for its names and addresses, signed by the root', async () => {
    const state = await createAuthority('fed')
    const {material, state: next} = await issueGatewayCertificate(
      state,
      {dnsNames: ['otel-gateway.observability-hub.svc'], ipAddresses: ['172.238.181.107', '2600:3c06::1']},
      {validityMs: 90 * DAY_MS},
    )
    const cert = node(material.cert)
    expect(cert.verify(node(state.root.cert).publicKey)).toBe(true)
    expect(cert.checkIP('172.238.181.107')).toBe('172.238.181.107')
    expect(cert.checkIP('2600:3c06:0:0:0:0:0:1')).toBeDefined()
    expect(cert.checkHost('otel-gateway.observability-hub.svc')).toBe('otel-gateway.observability-hub.svc')
    expect(cert.checkIP('10.0.0.1')).toBeUndefined()
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']) // serverAuth only
    expect(next.gateway?.ipAddresses).toEqual(['172.238.181.107', '2600:3c06::1'])
  })

  it('revocation drops the cluster CA from the trust bundle, which is never empty', async () => {
    let state = await createAuthority('fed')
    state = (await issueClientCredentials(state, 'edge-1', 'edge', {validityMs: DAY_MS})).state
    state = (await issueClientCredentials(state, 'edge-2', 'edge', {validityMs: DAY_MS})).state
    const fingerprints = async (bundle: string): Promise<string[]> => Promise.all(splitPemBundle(bundle).map(async (pem) => (await describeCertificate(pem)).fingerprint))
    const edge1Ca = (await describeCertificate(state.clusters['edge-1']!.ca.cert)).fingerprint
    expect(await fingerprints(clientCaBundle(state))).toContain(edge1Ca)
    state = await revokeCluster(state, 'edge-1')
    expect(await fingerprints(clientCaBundle(state))).not.toContain(edge1Ca)
    state = await revokeCluster(state, 'edge-2')
    expect(splitPemBundle(clientCaBundle(state))).toHaveLength(1) // the sentinel only
    await expect(issueClientCredentials(state, 'edge-1', 'edge', {validityMs: DAY_MS})).rejects.toBeInstanceOf(RevokedError)
    const fresh = await issueClientCredentials(state, 'edge-1', 'edge', {validityMs: DAY_MS, replaceRevoked: true})
    expect((await describeCertificate(fresh.state.clusters['edge-1']!.ca.cert)).fingerprint).not.toBe(edge1Ca)
    expect(fresh.state.clusters['edge-1']!.revoked).toBeUndefined()
    expect(state.revocations.map((r) => r.cluster)).toEqual(['edge-1', 'edge-2'])
  })

  it('reports expiry: valid, expiring within 14 days, expired, revoked', async () => {
    let state = await createAuthority('fed')
    const now = new Date()
    state = (await issueClientCredentials(state, 'a', 'edge', {validityMs: 30 * DAY_MS, now})).state
    state = (await issueClientCredentials(state, 'b', 'edge', {validityMs: 10 * DAY_MS, now})).state
    state = (await issueClientCredentials(state, 'c', 'edge', {validityMs: DAY_MS, now: new Date(now.getTime() - 2 * DAY_MS)})).state
    state = (await issueClientCredentials(state, 'd', 'edge', {validityMs: 30 * DAY_MS, now})).state
    state = await revokeCluster(state, 'd')
    const clients = Object.fromEntries((await certificateStatus(state, now)).filter((s) => s.kind === 'client').map((s) => [s.cluster, s.state]))
    expect(clients).toEqual({a: 'valid', b: 'expiring', c: 'expired', d: 'revoked'})
    expect(needsRenewal(state.clusters.b!.client!.notAfter, 30 * DAY_MS, now)).toBe(true)
    expect(needsRenewal(state.clusters.a!.client!.notAfter, 14 * DAY_MS, now)).toBe(false)
  })

  it('publishes only public keys in the JWKS', async () => {
    const state = await createAuthority('fed')
    const jwks = JSON.parse(gatewayJwks(state))
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({kty: 'EC', crv: 'P-256', alg: 'ES256', kid: state.tokenKey.kid})
    expect(jwks.keys[0].d).toBeUndefined()
  })
})
