import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {fedobs, kubeconfigFor} from '../helpers/deploy.js'
import {requireBinaries} from '../helpers/testbed.js'
import {renderEdge} from '../../src/render/render.js'
import {exampleFederation, find} from '../helpers/federation.js'
import {startTestbed, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'
import {startVolumeController} from '../../src/sandbox/testbed/volumes.js'
import {freePort, waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, PIPELINE_BINARIES, startPipeline, type Pipeline, pipelineBinaries} from './pipeline.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

/**
 * The real kube-state-metrics, run with the arguments fedobs renders, watching a real API server
 * where `fedobs deploy edge` ran: its kube_* series reach the hub through the rendered edge
 * scraper and the gateway, labelled with the edge's identity.
 */
const binaries = requireBinaries([...PIPELINE_BINARIES, 'FEDOBS_KUBE_STATE_METRICS'])

describe.skipIf(!binaries.ok)('real kube-state-metrics against a test-bed cluster', () => {
  let testbed: Testbed
  let ksm: ManagedProcess
  let p: Pipeline
  // The scraper's disk queue is a PVC: the Linode CSI stand-in provisions it, as LKE's driver would.
  let fake: FakeLinode
  let volumes: {stop(): Promise<void>} | undefined

  beforeAll(async () => {
    testbed = await startTestbed()
    fake = await startFakeLinode()
    const cluster = await testbed.addCluster({name: 'ksm-edge', lkeId: 566951, region: 'us-ord'})
    volumes = startVolumeController({cluster, fake, lkeClusterId: 566951})
    await cluster.addNode({plan: 'g6-standard-2', poolId: 827928, instanceId: 1001})
    await cluster.addNode({plan: 'g6-standard-2', poolId: 827928, instanceId: 1002})
    await cluster.addNode({plan: 'g2-gpu-rtx4000a1-s', poolId: 827929, instanceId: 1003})
    const deployed = await fedobs(kubeconfigFor([{cluster, as: EDGE}]), ['deploy', 'edge', EDGE, '-f', 'examples/fedobs.yaml', '--timeout', '2m'])
    expect(deployed.code, deployed.stderr).toBe(0)

    // The rendered container arguments, with loopback listeners and the test-bed kubeconfig.
    const rendered = find(renderEdge(exampleFederation(), EDGE).objects, 'Deployment', 'kube-state-metrics') as any
    const [port, telemetry] = [await freePort(), await freePort()]
    const args = (rendered.spec.template.spec.containers[0].args as string[]).map((a) => a.replace(/^--port=\d+$/, `--port=${port}`).replace(/^--telemetry-port=\d+$/, `--telemetry-port=${telemetry}`))
    const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-ksm-'))
    ksm = new ManagedProcess({
      name: 'kube-state-metrics',
      command: binaries.ok ? binaries.paths.FEDOBS_KUBE_STATE_METRICS! : '',
      args: [...args, `--kubeconfig=${cluster.kubeconfigFile}`, '--host=127.0.0.1', '--telemetry-host=127.0.0.1'],
      logFile: path.join(dir, 'kube-state-metrics.log'),
      ready: async () => (await fetch(`http://127.0.0.1:${telemetry}/readyz`).catch(() => undefined))?.status === 200,
    })
    await ksm.start()
    p = await startPipeline({
      ...pipelineBinaries(binaries),
      kubeStateMetrics: {edge: `127.0.0.1:${port}`},
      testbed,
    })
  }, 240_000)

  afterAll(async () => {
    await p?.stop()
    await ksm?.stop()
    await volumes?.stop()
    await fake?.close()
    await testbed?.stop()
  })

  it("brings the edge cluster's kube_* state to the hub, labelled with its identity", async () => {
    const nodes = await waitFor(
      'kube_node_info of the edge at the hub',
      async () => {
        const result = await p.query(`kube_node_info{cluster_id="${EDGE}"}`)
        return result.length === 3 ? result : undefined
      },
      {timeoutMs: 60_000},
    )
    for (const node of nodes) {
      expect(node.metric).toMatchObject({cluster_id: EDGE, cluster_role: 'edge', hub_received_at: 'otel-gateway-0', job: 'kube-state-metrics'})
      expect(node.metric.node).toMatch(/^lke566951-82792[89]-[0-9a-f]{8}$/)
    }
    const scraper = await p.query(`kube_deployment_status_replicas_available{cluster_id="${EDGE}", namespace="observability", deployment="otel-scraper"}`)
    expect(scraper.map((s) => s.value[1])).toEqual(['1'])
    const gpus = await p.query(`kube_node_status_capacity{cluster_id="${EDGE}", resource="nvidia_com_gpu"}`)
    expect(gpus.map((s) => s.value[1])).toEqual(['1'])
    const bert = await p.query(`kube_pod_status_phase{cluster_id="${EDGE}", namespace="bert-inference", phase="Running"} == 1`)
    expect(bert).toHaveLength(1)
  }, 90_000)

  it("verify counts it as the edge's kube-state-metrics job", async () => {
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', '--prometheus-url', p.prometheusUrl, '--skip-logs', '--skip-traces', '--json', '--cluster', EDGE])
    const jobs = JSON.parse(result.stdout).groups.find((g: {name: string}) => g.name === 'jobs').checks
    expect(jobs.find((c: {name: string}) => c.name === `${EDGE}: kube-state-metrics`).status).toBe('ok')
  }, 60_000)
})
