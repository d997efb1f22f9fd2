import {spawn} from 'node:child_process'
import {AppsV1Api, KubernetesObjectApi, PatchStrategy, type V1DaemonSet} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import {BIN, REPO} from '../helpers/cli.js'
import {fedobs, kubeconfigFor} from '../helpers/deploy.js'
import {requireBinaries} from '../helpers/testbed.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {startTestbed, TESTBED_BINARIES, type TestCluster, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'
import {startVolumeController} from '../../src/sandbox/testbed/volumes.js'
import {expectDocument} from '../helpers/json-schemas.js'

/**
 * The seed's edge story against a real kube-apiserver: `fedobs deploy edge` on an LKE-shaped
 * cluster whose GPU node joins late. The test bed (etcd) is shared; every test starts the cluster
 * it needs, so the tests pass in any order and one at a time.
 */
const binaries = requireBinaries(TESTBED_BINARIES)
const EXAMPLE = 'examples/fedobs.yaml'
const EDGE = 'fed-observability-remote'

describe.skipIf(!binaries.ok)('fedobs deploy edge on a real API server', () => {
  let testbed: Testbed
  let clusters = 0
  // The scraper's queue is a PVC: the Linode CSI stand-in provisions it, as LKE's driver would.
  let fake: FakeLinode
  const withVolumes = (c: TestCluster, lkeClusterId: number): TestCluster => {
    const controller = startVolumeController({cluster: c, fake, lkeClusterId})
    onTestFinished(() => controller.stop())
    return c
  }

  beforeAll(async () => {
    testbed = await startTestbed()
    fake = await startFakeLinode()
  }, 120_000)

  afterAll(async () => {
    await fake?.close()
    await testbed?.stop()
  })

  /** A fresh LKE-shaped edge cluster for one test (two standard nodes; the GPU node when asked), removed after it. */
  async function edgeCluster(options: {gpu?: boolean; deployed?: boolean} = {}) {
    const n = ++clusters
    const name = `edge-${n}`
    const cluster = await testbed.addCluster({name, lkeId: 566950 + n, region: 'us-ord'})
    onTestFinished(() => testbed.removeCluster(name))
    withVolumes(cluster, 566950 + n)
    await cluster.addNode({plan: 'g6-standard-2', poolId: 827928, instanceId: 1000 + 10 * n + 1})
    await cluster.addNode({plan: 'g6-standard-2', poolId: 827928, instanceId: 1000 + 10 * n + 2})
    if (options.gpu) await cluster.addNode({plan: 'g2-gpu-rtx4000a1-s', poolId: 827929, instanceId: 1000 + 10 * n + 3})
    const kubeconfig = kubeconfigFor([{cluster, as: EDGE}])
    const deploy = (...extra: string[]) => fedobs(kubeconfig, ['deploy', 'edge', EDGE, '-f', EXAMPLE, ...extra], [cluster.token])
    if (options.deployed) {
      const first = await deploy('--json', '--timeout', '90s')
      expect(first.code, first.stderr).toBe(0)
    }
    return {cluster, kubeconfig, deploy, apps: () => cluster.clients().config.makeApiClient(AppsV1Api)}
  }

  it('without the GPU node: BERT stays Pending and the timeout names it with the scheduler message', async () => {
    const {deploy, apps} = await edgeCluster()
    const result = await deploy('--timeout', '25s')
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('Deployment/bert-inference/bert-inference: 0/1 available')
    expect(result.stderr).toMatch(/pod bert-inference-[a-z0-9-]+: Pending — 0\/2 nodes are available: .*node affinity\/selector/)
    const agent = await apps().readNamespacedDaemonSet({name: 'otel-agent', namespace: 'observability'})
    expect(agent.status?.numberReady).toBe(2)
  }, 120_000)

  it('the GPU node joins late: fedobs labels it, BERT schedules, the agent runs on every node', async () => {
    const {cluster, deploy, apps} = await edgeCluster()
    const before = await deploy('--timeout', '10s')
    expect(before.code).toBe(1)
    const gpu = await cluster.addNode({plan: 'g2-gpu-rtx4000a1-s', poolId: 827929, instanceId: 1003})
    expect(gpu.metadata?.labels?.['nvidia.com/gpu.present']).toBeUndefined()
    const result = await deploy('--json', '--timeout', '90s')
    expect(result.code, result.stderr).toBe(0)
    const doc = expectDocument('deploy-edge', result.stdout)
    expect(doc.gpuNodesLabelled).toEqual([gpu.metadata!.name])
    expect(doc.ready).toBe(true)
    const node = await cluster.clients().core.readNode({name: gpu.metadata!.name!})
    expect(node.metadata?.labels?.['nvidia.com/gpu.present']).toBe('true')
    const bert = await apps().readNamespacedDeployment({name: 'bert-inference', namespace: 'bert-inference'})
    expect(bert.status?.availableReplicas).toBe(1)
    const pods = await cluster.clients().core.listNamespacedPod({namespace: 'bert-inference'})
    expect(pods.items[0]!.spec?.nodeName).toBe(gpu.metadata!.name)
    const agent = await apps().readNamespacedDaemonSet({name: 'otel-agent', namespace: 'observability'})
    expect(agent.status?.desiredNumberScheduled).toBe(3)
    expect(agent.status?.numberReady).toBe(3)
    const dcgm = await apps().readNamespacedDaemonSet({name: 'dcgm-exporter', namespace: 'observability'})
    expect(dcgm.status?.numberReady).toBe(1)
  }, 180_000)

  it('a second deploy changes nothing (counted)', async () => {
    const {deploy} = await edgeCluster({gpu: true, deployed: true})
    const result = await deploy('--json')
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc.counts.created).toBe(0)
    expect(doc.counts.configured).toBe(0)
    expect(doc.counts.unchanged).toBe(doc.applied.length)
    expect(doc.pruned).toEqual([])
    expect(doc.gpuNodesLabelled).toEqual([])
  }, 120_000)

  it('--dry-run shows what would change and changes nothing', async () => {
    const {deploy, kubeconfig} = await edgeCluster({gpu: true, deployed: true})
    const result = await deploy('--dry-run', '--retention', '7d', '--scrape-interval', '15s', '--json')
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    const changed = doc.applied.filter((a: {action: string}) => a.action !== 'unchanged').map((a: {key: string}) => a.key)
    expect(changed).toEqual(expect.arrayContaining(['ConfigMap/observability/otel-agent-config', 'DaemonSet/observability/otel-agent']))
    const after = await fedobs(kubeconfig, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--json'])
    expect(JSON.parse(after.stdout).counts.configured).toBe(0)
  }, 120_000)

  it('prunes what it no longer renders (the GPU stack when the edge has no GPUs)', async () => {
    const {deploy, apps} = await edgeCluster({gpu: true, deployed: true})
    const result = await deploy('--no-gpu', '--json', '--timeout', '60s')
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc.pruned).toEqual(
      expect.arrayContaining([
        'DaemonSet/observability/dcgm-exporter',
        'Service/observability/dcgm-exporter',
        'DaemonSet/kube-system/nvidia-device-plugin-daemonset',
        'Deployment/bert-inference/bert-inference',
      ]),
    )
    await expect(apps().readNamespacedDaemonSet({name: 'dcgm-exporter', namespace: 'observability'})).rejects.toMatchObject({code: 404})
    // And back.
    const back = await deploy('--json', '--timeout', '90s')
    expect(back.code, back.stderr).toBe(0)
    expect(JSON.parse(back.stdout).counts.created).toBeGreaterThanOrEqual(4)
  }, 180_000)

  it('a deploy killed mid-way, then re-run, converges', async () => {
    // Start from nothing fedobs owns in observability, then kill the deploy while it applies.
    const fresh = withVolumes(await testbed.addCluster({name: 'edge-kill', lkeId: 700001, region: 'us-ord'}), 700001)
    await fresh.addNode({plan: 'g6-standard-2', poolId: 1, instanceId: 2001})
    await fresh.addNode({plan: 'g2-gpu-rtx4000a1-s', poolId: 2, instanceId: 2002})
    const file = kubeconfigFor([{cluster: fresh, as: EDGE}])
    const child = spawn(process.execPath, [BIN, 'deploy', 'edge', EDGE, '-f', EXAMPLE], {cwd: REPO, env: {...process.env, KUBECONFIG: file, CI: 'true'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    // Kill as soon as some objects exist, before it is done.
    const core = fresh.clients().core
    await waitFor(async () => (await core.listNamespacedServiceAccount({namespace: 'observability'}).catch(() => ({items: []}))).items.some((s) => s.metadata?.name === 'otel-agent'), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'the first objects',
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.on('close', resolve))
    const before = await fresh.clients().config.makeApiClient(AppsV1Api).listDaemonSetForAllNamespaces()
    const rerun = await fedobs(file, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--json', '--timeout', '90s'])
    expect(rerun.code, `${rerun.stderr}\n(first run: ${stderr})`).toBe(0)
    const doc = JSON.parse(rerun.stdout)
    expect(doc.ready).toBe(true)
    expect(doc.counts.created).toBeGreaterThan(0)
    expect(before.items.length).toBeLessThan(3)
    const again = await fedobs(file, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--json'])
    expect(JSON.parse(again.stdout).counts).toMatchObject({created: 0, configured: 0})
    await testbed.removeCluster('edge-kill')
  }, 240_000)

  it('patches K8S_NODE_IP into an agent DaemonSet deployed the seed way, and reports it; the selector change needs --force-conflicts', async () => {
    const seed = withVolumes(await testbed.addCluster({name: 'edge-seed', lkeId: 700002, region: 'us-ord'}), 700002)
    await seed.addNode({plan: 'g6-standard-2', poolId: 1, instanceId: 3001})
    const file = kubeconfigFor([{cluster: seed, as: EDGE}])
    const objects = KubernetesObjectApi.makeApiClient(seed.clients().config)
    await objects.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'observability'}})
    const seedAgent: V1DaemonSet = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: {name: 'otel-agent', namespace: 'observability', labels: {app: 'otel-agent'}},
      spec: {
        selector: {matchLabels: {app: 'otel-agent'}},
        template: {
          metadata: {labels: {app: 'otel-agent'}},
          spec: {containers: [{name: 'otel-agent', image: 'otel/opentelemetry-collector-contrib:0.100.0', env: [{name: 'K8S_NODE_NAME', valueFrom: {fieldRef: {fieldPath: 'spec.nodeName'}}}]}]},
        },
      },
    }
    await objects.patch(seedAgent, undefined, undefined, 'kubectl-client-side-apply', false, PatchStrategy.ServerSideApply)
    const plain = await fedobs(file, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--no-gpu', '--no-inference', '--timeout', '30s'])
    expect(plain.code).toBe(1)
    expect(plain.stderr).toContain('patched K8S_NODE_IP into DaemonSet observability/otel-agent')
    expect(plain.stderr).toContain('DaemonSet/observability/otel-agent')
    expect(plain.stderr).toContain('--force-conflicts')
    const patched = await seed.clients().config.makeApiClient(AppsV1Api).readNamespacedDaemonSet({name: 'otel-agent', namespace: 'observability'})
    expect(patched.spec?.template.spec?.containers[0]!.env).toContainEqual({name: 'K8S_NODE_IP', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'status.hostIP'}}})
    const forced = await fedobs(file, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--no-gpu', '--no-inference', '--force-conflicts', '--json', '--timeout', '60s'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout).replaced).toEqual(['DaemonSet/observability/otel-agent'])
    await testbed.removeCluster('edge-seed')
  }, 240_000)

  it('names the other field manager on a conflict, and takes over with --force-conflicts', async () => {
    const {cluster, deploy} = await edgeCluster({gpu: true, deployed: true})
    const objects = KubernetesObjectApi.makeApiClient(cluster.clients().config)
    await objects.patch(
      {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'otel-scraper-config', namespace: 'observability'}, data: {'config.yaml': 'edited: by hand\n'}},
      undefined,
      undefined,
      'kubectl-edit',
      true,
      PatchStrategy.ServerSideApply,
    )
    const refused = await deploy('--timeout', '30s')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('ConfigMap/observability/otel-scraper-config: fields are managed by "kubectl-edit"')
    expect(refused.stderr).toContain('--force-conflicts')
    const forced = await deploy('--force-conflicts', '--json', '--timeout', '90s')
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout).applied).toContainEqual({key: 'ConfigMap/observability/otel-scraper-config', action: 'configured'})
  }, 180_000)

  it('every object render produces for an edge and for the hub is accepted by the API server (server-side dry run)', async () => {
    const fresh = await testbed.addCluster({name: 'dry', region: 'us-ord'})
    const objects = KubernetesObjectApi.makeApiClient(fresh.clients().config)
    for (const name of ['monitoring', 'observability', 'observability-hub', 'bert-inference']) await objects.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})
    const file = kubeconfigFor([
      {cluster: fresh, as: EDGE},
      {cluster: fresh, as: 'fed-observability-test'},
    ])
    for (const target of [['edge', EDGE], ['hub']]) {
      const result = await fedobs(file, ['deploy', ...target, '-f', EXAMPLE, '--dry-run', '--json'])
      expect(result.code, result.stderr).toBe(0)
      const doc = expectDocument(`deploy-${target[0]}`, result.stdout)
      expect(doc.applied.length).toBeGreaterThan(15)
      for (const applied of doc.applied) expect(applied.note, applied.key).toBeUndefined()
    }
    const all = await fedobs(file, ['deploy', 'all', '-f', EXAMPLE, '--dry-run', '--json'])
    expect(all.code, all.stderr).toBe(0)
    expect(expectDocument('deploy-all', all.stdout).clusters).toHaveLength(2)
    // Nothing was created by the dry runs.
    expect((await fresh.clients().config.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces()).items).toEqual([])
    await testbed.removeCluster('dry')
  }, 180_000)
})
