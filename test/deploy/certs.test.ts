import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {CoreV1Api, KubeConfig} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import {createAuthority, DAY_MS, issueClientCredentials, type PkiState} from '../../src/pki/authority.js'
import {describeCertificate, splitPemBundle} from '../../src/pki/x509.js'
import type {Cloud} from '../helpers/cloud.js'
import {startBridgedCloud, type BridgedCloud} from '../helpers/deploy.js'
import {requireBinaries} from '../helpers/testbed.js'
import {TESTBED_BINARIES} from '../../src/sandbox/testbed/testbed.js'
import {expectDocument} from '../helpers/json-schemas.js'

/**
 * The certificate lifecycle as a user drives it, on real API servers: `certs status`, `certs rotate`
 * (an edge, the gateway), `certs revoke`, and what `verify` says about each state — a cluster
 * without a certificate, with one from another CA, an expired one, a revoked one.
 *
 * The federation is built once; a test that rotates or revokes puts fedobs' certificate state back
 * as the fixture left it when it finishes (keepPki), so the tests pass alone and in any order.
 */
const binaries = requireBinaries(TESTBED_BINARIES)
const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'

describe.skipIf(!binaries.ok)('fedobs certs and verify on real API servers', () => {
  let sandbox: BridgedCloud
  let cloud: Cloud
  let prometheus: Server
  let prometheusUrl: string

  const core = (cluster: string): CoreV1Api => {
    const config = new KubeConfig()
    config.loadFromFile(cloud.kubeconfig)
    config.setCurrentContext(`fedobs-${cluster}`)
    return config.makeApiClient(CoreV1Api)
  }
  const secret = async (cluster: string, namespace: string, name: string): Promise<Record<string, string>> => {
    const found = await core(cluster).readNamespacedSecret({name, namespace})
    return Object.fromEntries(Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
  }
  const state = async (): Promise<PkiState> => JSON.parse((await secret(HUB, 'observability-hub', 'fedobs-pki'))['state.json']!)
  const trusted = async (): Promise<string[]> =>
    Promise.all(splitPemBundle((await secret(HUB, 'observability-hub', 'otel-gateway-trust'))['client-cas.pem']!).map(async (pem) => (await describeCertificate(pem)).fingerprint))
  const caFingerprint = async (cluster: string): Promise<string> => (await describeCertificate((await state()).clusters[cluster]!.ca.cert)).fingerprint
  const writeEdgeSecret = async (data: Record<string, string>): Promise<void> => {
    await core(EDGE).replaceNamespacedSecret({
      name: 'otel-gateway-client',
      namespace: 'observability',
      body: {
        metadata: {name: 'otel-gateway-client', namespace: 'observability'},
        type: 'kubernetes.io/tls',
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      },
    })
  }
  /** The certificates group of `verify --json` (the backends answer empty: the other groups fail). */
  const certificateChecks = async (): Promise<Array<{id: string; status: string; cluster?: string; message: string; hint?: string}>> => {
    const result = await cloud.run(['verify', '-f', EXAMPLE, '--prometheus-url', prometheusUrl, '--skip-logs', '--skip-traces', '--json'])
    expect(result.code, result.stderr).toBe(1)
    return expectDocument('verify', result.stdout).groups.find((g: {name: string}) => g.name === 'certificates').checks
  }
  const edgeCheck = async () => (await certificateChecks()).find((c) => c.id === 'client-cert' && c.cluster === EDGE)!
  /**
   * fedobs keeps its certificate state in these Secrets and nowhere else: the CA on the hub, what the
   * gateway serves and trusts, what each cluster presents. Snapshot them now; write them back when the
   * test finishes.
   */
  const keepPki = async (): Promise<void> => {
    const kept = [
      [HUB, 'observability-hub', 'fedobs-pki'],
      [HUB, 'observability-hub', 'otel-gateway-tls'],
      [HUB, 'observability-hub', 'otel-gateway-trust'],
      [HUB, 'observability', 'otel-gateway-client'],
      [EDGE, 'observability', 'otel-gateway-client'],
    ] as const
    const snapshot = await Promise.all(kept.map(async ([cluster, namespace, name]) => ({cluster, namespace, name, secret: await core(cluster).readNamespacedSecret({name, namespace})})))
    onTestFinished(async () => {
      for (const {cluster, namespace, name, secret} of snapshot) {
        const api = core(cluster)
        const body = {metadata: {name, namespace, labels: secret.metadata?.labels}, type: secret.type, data: secret.data}
        const now = await api.readNamespacedSecret({name, namespace}).catch(() => undefined)
        if (now && now.type !== secret.type) await api.deleteNamespacedSecret({name, namespace})
        if (now && now.type === secret.type) await api.replaceNamespacedSecret({name, namespace, body})
        else await api.createNamespacedSecret({namespace, body})
      }
    })
  }

  beforeAll(async () => {
    // A Prometheus that knows nothing: verify's metric checks fail, its certificate checks run.
    prometheus = createServer((_req, res) => res.writeHead(200, {'Content-Type': 'application/json'}).end(JSON.stringify({status: 'success', data: {resultType: 'vector', result: []}})))
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve))
    prometheusUrl = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`
    sandbox = await startBridgedCloud()
    ;({cloud} = sandbox)
    for (const args of [
      ['cluster', 'create', '--all', '-f', EXAMPLE, '--timeout', '2h'],
      ['deploy', 'hub', '-f', EXAMPLE, '--timeout', '3m'],
      ['connect', EDGE, 'hub', '-f', EXAMPLE, '--timeout', '3m'],
    ]) {
      const result = await cloud.run(args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
    }
  }, 360_000)

  afterAll(async () => {
    await sandbox?.stop()
    prometheus?.close()
  })

  it('certs status lists every certificate, valid, and what each cluster has installed', async () => {
    const result = await cloud.run(['certs', 'status', '-f', EXAMPLE, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = expectDocument('certs-status', result.stdout)
    expect(doc.certificates.map((c: {kind: string; cluster?: string}) => `${c.kind}${c.cluster ? ` ${c.cluster}` : ''}`)).toEqual([
      'root',
      'gateway',
      `cluster-ca ${EDGE}`,
      `client ${EDGE}`,
      `cluster-ca ${HUB}`,
      `client ${HUB}`,
    ])
    expect(new Set(doc.certificates.map((c: {state: string}) => c.state))).toEqual(new Set(['valid']))
    expect(doc.installed).toEqual([expect.objectContaining({cluster: HUB, state: 'ok'}), expect.objectContaining({cluster: EDGE, state: 'ok'})])
    const table = await cloud.run(['certs', 'status', '-f', EXAMPLE])
    expect(table.stdout).toMatch(/^KIND\s+CLUSTER\s+NOT AFTER\s+DAYS\s+STATE\s+INSTALLED/)
    expect(await certificateChecks()).toEqual(
      expect.arrayContaining([expect.objectContaining({id: 'gateway-cert', status: 'ok'}), expect.objectContaining({id: 'client-cert', cluster: EDGE, status: 'ok'})]),
    )
  }, 120_000)

  it('certs rotate EDGE installs a new certificate and token from the same CA; the old one stays valid', async () => {
    await keepPki()
    const before = await secret(EDGE, 'observability', 'otel-gateway-client')
    const ca = await caFingerprint(EDGE)
    const result = await cloud.run(['certs', 'rotate', EDGE, '-f', EXAMPLE, '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(expectDocument('certs-rotate', result.stdout)).toMatchObject({cluster: EDGE, issued: true, reason: 'rotation requested'})
    const after = await secret(EDGE, 'observability', 'otel-gateway-client')
    expect(after['tls.crt']).not.toBe(before['tls.crt'])
    expect(after.token).not.toBe(before.token)
    expect(after['tls.key']).not.toBe(before['tls.key'])
    expect(await caFingerprint(EDGE)).toBe(ca)
    expect(await trusted()).toContain(ca)
  }, 120_000)

  it('certs rotate --gateway issues a new gateway certificate for the same names and addresses', async () => {
    await keepPki()
    const before = await describeCertificate((await secret(HUB, 'observability-hub', 'otel-gateway-tls'))['tls.crt']!)
    const result = await cloud.run(['certs', 'rotate', '--gateway', '-f', EXAMPLE])
    expect(result.code, result.stderr).toBe(0)
    const after = await describeCertificate((await secret(HUB, 'observability-hub', 'otel-gateway-tls'))['tls.crt']!)
    expect(after.serial).not.toBe(before.serial)
    expect(after.ipAddresses).toEqual(before.ipAddresses)
    expect(after.ipAddresses.length).toBeGreaterThan(0)
  }, 60_000)

  it('verify names an edge without a certificate, with one from another CA, or with an expired one', async () => {
    const original = await secret(EDGE, 'observability', 'otel-gateway-client')
    try {
      await core(EDGE).deleteNamespacedSecret({name: 'otel-gateway-client', namespace: 'observability'})
      expect(await edgeCheck()).toMatchObject({status: 'fail', message: expect.stringContaining('no client certificate'), hint: expect.stringContaining(`connect ${EDGE} hub`)})

      const other = await createAuthority('fed-observability')
      const foreign = (await issueClientCredentials(other, EDGE, 'edge', {validityMs: 30 * DAY_MS})).credentials
      await core(EDGE).createNamespacedSecret({
        namespace: 'observability',
        body: {
          metadata: {name: 'otel-gateway-client'},
          type: 'kubernetes.io/tls',
          data: {'tls.crt': Buffer.from(foreign.cert).toString('base64'), 'tls.key': Buffer.from(foreign.key).toString('base64')},
        },
      })
      expect(await edgeCheck()).toMatchObject({status: 'fail', message: expect.stringContaining('not issued by this federation'), hint: expect.stringContaining(`certs rotate ${EDGE}`)})

      const expired = (await issueClientCredentials(await state(), EDGE, 'edge', {validityMs: DAY_MS, now: new Date(Date.now() - 3 * DAY_MS)})).credentials
      await writeEdgeSecret({'tls.crt': expired.cert, 'tls.key': expired.key, 'ca.crt': expired.caCert, token: expired.token})
      expect(await edgeCheck()).toMatchObject({status: 'fail', message: expect.stringContaining('expired')})
    } finally {
      await writeEdgeSecret(original)
    }
    expect((await edgeCheck()).status).toBe('ok')
  }, 180_000)

  it('certs revoke needs --yes without a terminal, then drops the edge CA from the gateway trust bundle', async () => {
    await keepPki()
    const ca = await caFingerprint(EDGE)
    const refused = await cloud.run(['certs', 'revoke', EDGE, '-f', EXAMPLE])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--yes')
    expect(await trusted()).toContain(ca)

    const result = await cloud.run(['certs', 'revoke', EDGE, '-f', EXAMPLE, '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(expectDocument('certs-revoke', result.stdout)).toMatchObject({cluster: EDGE, revoked: true})
    expect(await trusted()).not.toContain(ca)
    expect(await trusted()).toContain(await caFingerprint(HUB))
    const status = JSON.parse((await cloud.run(['certs', 'status', '-f', EXAMPLE, '--json'])).stdout)
    expect(status.certificates.filter((c: {cluster?: string}) => c.cluster === EDGE).map((c: {state: string}) => c.state)).toEqual(['revoked', 'revoked'])
    expect(await edgeCheck()).toMatchObject({status: 'fail', message: expect.stringContaining('revoked'), hint: expect.stringContaining('new CA')})

    // connect does not quietly re-admit a revoked edge.
    const connect = await cloud.run(['connect', EDGE, 'hub', '-f', EXAMPLE])
    expect(connect.code).toBe(2)
    expect(connect.stderr).toContain(`the credentials of ${EDGE} are revoked`)
    expect(connect.stderr).toContain(`fedobs certs rotate ${EDGE}`)
  }, 120_000)

  it('certs rotate re-admits a revoked edge under a new CA', async () => {
    await keepPki()
    const connected = await caFingerprint(EDGE)
    const revoked = await cloud.run(['certs', 'revoke', EDGE, '-f', EXAMPLE, '--yes'])
    expect(revoked.code, revoked.stderr).toBe(0)
    const old = (await state()).revocations.at(-1)!.caFingerprint
    expect(old).toBe(connected)
    const result = await cloud.run(['certs', 'rotate', EDGE, '-f', EXAMPLE])
    expect(result.code, result.stderr).toBe(0)
    const ca = await caFingerprint(EDGE)
    expect(ca).not.toBe(old)
    expect(await trusted()).toContain(ca)
    expect(await trusted()).not.toContain(old)
    expect((await edgeCheck()).status).toBe('ok')
    const again = await cloud.run(['connect', EDGE, 'hub', '-f', EXAMPLE, '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(expectDocument('connect', again.stdout).credentials).toMatchObject({issued: false})
  }, 180_000)

  it('an unknown cluster name gets a suggestion and exit 2', async () => {
    const result = await cloud.run(['certs', 'rotate', 'fed-observability-remot', '-f', EXAMPLE])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(EDGE)
  })
})
