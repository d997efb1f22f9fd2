import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {configOf} from '../helpers/federation.js'
import {TestPki} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {startTestbed, TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {startKubeCluster, Translate, type KubeCluster} from '../../src/sandbox/telemetry/kube.js'
import {loopbackVariant} from '../../src/sandbox/telemetry/loopback.js'
import {freePorts, waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, renderForLoopback} from './pipeline.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

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

  /** The rendered agent or scraper, run as a pod under its rendered ServiceAccount. */
  async function runCollector(kind: 'agent' | 'scraper', name: string): Promise<ManagedProcess> {
    const [grpc, http, health, metrics] = (await freePorts(4)) as [number, number, number, number]
    const file = path.join(dir, `${name}.yaml`)
    const config = loopbackVariant(configOf(edge.objects, `otel-${kind}-config`, 'config.yaml'), {
      ports: {4317: grpc, 4318: http, 13133: health, 8888: metrics},
      dataDir: path.join(dir, name),
      podLogDir: path.join(dir, name, 'pods'),
      kubeletPort: 1,
      mounts: pki.clientMounts(EDGE),
    })
    writeFileSync(file, emitYaml(config))
    const gates = kind === 'agent' ? ['--feature-gates=ottl.functions.enableLambda'] : []
    const launch = await kube.asPod(`observability/otel-${kind}`, binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', [`--config=${file}`, ...gates])
    const proc = new ManagedProcess({
      name,
      command: launch.command,
      args: launch.args,
      // The downward-API environment of the rendered pod spec.
      env: {...launch.env, K8S_NODE_NAME: kube.gpuNode.node, K8S_NODE_IP: '127.0.0.1', K8S_POD_NAME: `otel-${kind}-0`, K8S_POD_NAMESPACE: 'observability'},
      logFile: path.join(dir, `${name}.log`),
      ready: async () => (await fetch(`http://127.0.0.1:${health}/`).catch(() => undefined))?.ok === true,
    })
    await proc.start()
    return proc
  }

  /** The API server's answers to a collector's requests, per path pattern, once there are `enough` for each. */
  async function answers(kind: 'agent' | 'scraper', name: string, paths: RegExp[], enough = 1): Promise<Array<Set<number>>> {
    kube.apiRequests.length = 0
    const collector = await runCollector(kind, name)
    try {
      return await waitFor(
        `${name}: ${enough} requests for each of ${paths.join(', ')}`,
        () => {
          const statuses = paths.map((path) => kube.apiRequests.filter((r) => path.test(r.path)).map((r) => r.status))
          return statuses.every((s) => s.length >= enough) ? statuses.map((s) => new Set(s)) : undefined
        },
        {timeoutMs: 30_000},
      )
    } finally {
      await collector.stop(5000)
    }
  }

  const rbacWithout = async (role: string, resource: string): Promise<void> => {
    const {RbacAuthorizationV1Api} = await import('@kubernetes/client-node')
    const rbac = kube.cluster.clients().config.makeApiClient(RbacAuthorizationV1Api)
    const body = await rbac.readClusterRole({name: role})
    body.rules = body.rules!.map((rule) => ({...rule, resources: rule.resources?.filter((r) => r !== resource)}))
    await rbac.replaceClusterRole({name: role, body})
  }

  // Discovery lists Endpoints in each scrape job's namespace: bert-inference and observability on the edge.
  const ENDPOINTS = /^\/api\/v1\/namespaces\/[^/]+\/endpoints\b/
  // k8s_attributes lists and watches the pods of its node (fieldSelector spec.nodeName), one informer
  // per pipeline. (It asks for no ReplicaSets at 0.159: k8s.deployment.name comes from the pod's
  // ReplicaSet owner name.)
  const PODS = /^\/api\/v1\/pods\?.*fieldSelector=spec\.nodeName%3Dlke200002-gpu-2b9e4d/

  it('scraper: lists Endpoints with the rendered ClusterRole, and is forbidden once its endpoints rule is gone', async () => {
    expect(await answers('scraper', 'scraper-granted', [ENDPOINTS], 2)).toEqual([new Set([200])])
    await rbacWithout('otel-scraper', 'endpoints')
    expect(await answers('scraper', 'scraper-denied', [ENDPOINTS], 2)).toEqual([new Set([403])])
  }, 120_000)

  it("agent: k8s_attributes watches its node's pods, and is forbidden once the pods rule is gone", async () => {
    expect(await answers('agent', 'agent-granted', [PODS], 3)).toEqual([new Set([200])])
    await rbacWithout('otel-agent', 'pods')
    expect(await answers('agent', 'agent-denied', [PODS], 3)).toEqual([new Set([403])])
  }, 120_000)
})
