import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/render/emit.js'
import {configOf} from '../helpers/federation.js'
import {TestPki} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {startTestbed, TESTBED_BINARIES, type Testbed} from '../testbed/testbed.js'
import {startKubeCluster, Translate, type KubeCluster} from './kube.js'
import {loopbackVariant} from './loopback.js'
import {freePorts, waitFor} from './net.js'
import {EDGE, renderForLoopback} from './pipeline.js'
import {ManagedProcess} from './processes.js'

describe('the address-translating API proxy stream', () => {
  it('rewrites every occurrence, wherever the chunks split, and holds nothing back at the end', async () => {
    const text = '{"podIP":"10.123.45.6","podIPs":[{"ip":"10.123.45.6"}],"hostIP":"127.0.0.1","other":"10.12.3.4"}'
    const expected = text.replaceAll('10.123.', '127.42.')
    for (let cut = 1; cut < text.length; cut++) {
      const chunks = [Buffer.from(text.slice(0, cut)), Buffer.from(text.slice(cut))]
      const out: Buffer[] = []
      for await (const chunk of Readable.from(chunks).pipe(new Translate(Buffer.from('10.123.'), Buffer.from('127.42.')))) out.push(chunk as Buffer)
      expect(Buffer.concat(out).toString(), `cut at ${cut}`).toBe(expected)
    }
  })

  it('flushes a held-back prefix after a pause (a watch event must not wait for the next one)', async () => {
    const translate = new Translate(Buffer.from('10.123.'), Buffer.from('127.42.'))
    const out: string[] = []
    translate.on('data', (chunk: Buffer) => out.push(chunk.toString()))
    translate.write(Buffer.from('{"type":"MODIFIED"} 10.1'))
    await waitFor('the held-back tail', () => out.join('') === '{"type":"MODIFIED"} 10.1', {timeoutMs: 1000, intervalMs: 5})
    translate.end()
  })
})

/**
 * The collectors' Kubernetes access in the telemetry tests is the rendered ServiceAccount's: a
 * rule taken out of the rendered ClusterRole shows up as "forbidden" in the collector, so the
 * pipeline tests cannot pass on RBAC the rendering lacks.
 */
const binaries = requireBinaries(['FEDOBS_OTELCOL', ...TESTBED_BINARIES])

describe.skipIf(!binaries.ok)('collectors as pods of a test-bed cluster, with the rendered RBAC', () => {
  let testbed: Testbed
  let kube: KubeCluster
  let pki: TestPki
  let dir: string
  const {edge} = renderForLoopback('2s', '127.0.0.1:1')

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-kube-rbac-'))
    testbed = await startTestbed()
    kube = await startKubeCluster(testbed, {role: 'edge', name: 'rbac-edge', rendering: edge, gpuNode: 'lke200002-gpu-2b9e4d', otherNode: 'lke200002-std-9c2b7e', dir})
    pki = await TestPki.create(path.join(dir, 'pki'), 'fed-observability', {gatewayAddresses: ['127.0.0.1'], clusters: [{name: EDGE, role: 'edge'}]})
  }, 240_000)

  afterAll(async () => {
    await kube?.close()
    await testbed?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  async function runScraper(name: string): Promise<ManagedProcess> {
    const [health, metrics] = (await freePorts(2)) as [number, number]
    const file = path.join(dir, `${name}.yaml`)
    const config = loopbackVariant(configOf(edge.objects, 'otel-scraper-config', 'config.yaml'), {ports: {13133: health, 8888: metrics}, dataDir: path.join(dir, name), mounts: pki.clientMounts(EDGE)})
    writeFileSync(file, emitYaml(config))
    const launch = await kube.asPod('observability/otel-scraper', binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', [`--config=${file}`])
    const proc = new ManagedProcess({name, command: launch.command, args: launch.args, env: launch.env, logFile: path.join(dir, `${name}.log`), ready: async () => (await fetch(`http://127.0.0.1:${health}/`).catch(() => undefined))?.ok === true})
    await proc.start()
    return proc
  }

  /** The scraper's Endpoints list/watch requests while it runs for a few seconds, with the API server's answers. */
  async function endpointsRequests(name: string): Promise<number[]> {
    kube.apiRequests.length = 0
    const scraper = await runScraper(name)
    try {
      return await waitFor(`${name}: Endpoints requests of each scrape job's namespace`, () => {
        const statuses = kube.apiRequests.filter((r) => /^\/api\/v1\/namespaces\/[^/]+\/endpoints\b/.test(r.path)).map((r) => r.status)
        // bert-inference, observability (dcgm-exporter and kube-state-metrics) on the edge.
        return statuses.length >= 2 ? statuses : undefined
      }, {timeoutMs: 30_000})
    } finally {
      await scraper.stop(5000)
    }
  }

  it('lists Endpoints with the rendered ClusterRole, and is forbidden once its endpoints rule is gone', async () => {
    expect(new Set(await endpointsRequests('scraper-granted'))).toEqual(new Set([200]))

    const {RbacAuthorizationV1Api} = await import('@kubernetes/client-node')
    const rbac = kube.cluster.clients().config.makeApiClient(RbacAuthorizationV1Api)
    const role = await rbac.readClusterRole({name: 'otel-scraper'})
    role.rules = role.rules!.map((rule) => ({...rule, resources: rule.resources?.filter((r) => r !== 'endpoints')}))
    await rbac.replaceClusterRole({name: 'otel-scraper', body: role})
    expect(new Set(await endpointsRequests('scraper-denied'))).toEqual(new Set([403]))
  }, 120_000)
})
