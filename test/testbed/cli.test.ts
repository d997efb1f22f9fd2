import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import type {Cloud} from '../helpers/cloud.js'
import {startBridgedCloud, type BridgedCloud} from '../helpers/deploy.js'
import {requireBinaries} from '../helpers/testbed.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'

const binaries = requireBinaries(TESTBED_BINARIES)
const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const CONTEXT = `fedobs-${HUB}`
const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl'

interface K8sObject {
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>}
  spec?: {type?: string}
  status?: {capacity?: Record<string, string>}
}

describe.skipIf(!binaries.ok)('the real CLI against the fake Linode API bridged to real clusters', () => {
  let testbed: Testbed
  let cloud: Cloud

  /** kubectl through the kubeconfig the CLI merged, with the context it added. */
  async function kubectl(args: string[], input?: string): Promise<string> {
    const run = promisify(execFile)
    const child = run(KUBECTL, ['--kubeconfig', cloud.kubeconfig, '--context', CONTEXT, ...args], {env: {...process.env, HOME: cloud.home}, maxBuffer: 16 << 20})
    if (input !== undefined) child.child.stdin!.end(input)
    return (await child).stdout
  }

  let bridged: BridgedCloud | undefined
  beforeAll(async () => {
    // LKE's minutes become seconds (time scale 0.02), for the fake and the CLI alike.
    bridged = await startBridgedCloud()
    ;({testbed, cloud} = bridged)
  })

  afterAll(async () => {
    await bridged?.stop()
  })

  it('cluster create merges a kubeconfig whose context reaches the real apiserver with LKE-shaped nodes, the GPU one included', async () => {
    const created = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--timeout', '2h'])
    expect(created.code, created.stderr).toBe(0)
    const id = [...cloud.fake.state.clusters.values()].find((c) => c.label === HUB)!.id

    // The CLI is done once the API says the nodes are ready; the bridge adds them within moments.
    const nodes = await waitFor(
      async () => {
        const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {items: K8sObject[]}
        return list.items.length === 4 ? list.items : undefined
      },
      {timeoutMs: 30_000, intervalMs: 500, what: 'four nodes through the merged context'},
    )
    const types = nodes.map((n) => n.metadata.labels?.['node.kubernetes.io/instance-type']).sort()
    expect(types).toEqual(['g2-gpu-rtx4000a1-s', 'g6-standard-4', 'g6-standard-4', 'g6-standard-4'])
    for (const node of nodes) expect(node.metadata.name).toMatch(new RegExp(`^lke${id}-\\d+-[0-9a-f]{8}$`))
    const gpu = nodes.find((n) => n.metadata.labels?.['node.kubernetes.io/instance-type'] === 'g2-gpu-rtx4000a1-s')!
    expect(gpu.status?.capacity?.['nvidia.com/gpu']).toBe('1')
    const table = await kubectl(['get', 'nodes'])
    expect(table).toContain(gpu.metadata.name)
    expect(table).toMatch(/\sReady\s/)
  }, 180_000)

  it('cluster delete releases LoadBalancer Services and PVCs while the cluster lives, then deletes it and sweeps the volume', async () => {
    const id = [...cloud.fake.state.clusters.values()].find((c) => c.label === HUB)!.id
    // What fedobs renders for the hub: its namespace, StorageClass and gateway LoadBalancer.
    const rendered = await cloud.run(['render', 'hub', '-f', EXAMPLE, '--json'])
    expect(rendered.code, rendered.stderr).toBe(0)
    const wanted = (JSON.parse(rendered.stdout) as {items: K8sObject[]}).items.filter(
      (o) => (o.kind === 'Namespace' && o.metadata.name === 'observability-hub') || o.kind === 'StorageClass' || (o.kind === 'Service' && o.spec?.type === 'LoadBalancer'),
    )
    expect(wanted.map((o) => o.kind).sort()).toEqual(['Namespace', 'Service', 'StorageClass'])
    await kubectl(['apply', '-f', '-'], JSON.stringify({apiVersion: 'v1', kind: 'List', items: wanted}))
    const claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {name: 'queue-otel-gateway-0', namespace: 'observability-hub'},
      spec: {accessModes: ['ReadWriteOnce'], storageClassName: 'fedobs-block-storage', resources: {requests: {storage: '10Gi'}}},
    }
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name: 'otel-gateway-0', namespace: 'observability-hub', labels: {'app.kubernetes.io/name': 'otel-gateway'}},
      spec: {
        containers: [{name: 'otelcol', image: 'otel/opentelemetry-collector-contrib', volumeMounts: [{name: 'queue', mountPath: '/var/lib/otelcol'}]}],
        volumes: [{name: 'queue', persistentVolumeClaim: {claimName: 'queue-otel-gateway-0'}}],
      },
    }
    await kubectl(['apply', '-f', '-'], JSON.stringify({apiVersion: 'v1', kind: 'List', items: [claim, pod]}))
    await waitFor(
      async () => {
        const ip = await kubectl(['get', 'service', '-n', 'observability-hub', 'otel-gateway-external', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])
        const phase = await kubectl(['get', 'pvc', '-n', 'observability-hub', 'queue-otel-gateway-0', '-o', 'jsonpath={.status.phase}'])
        return ip !== '' && phase === 'Bound'
      },
      {timeoutMs: 45_000, intervalMs: 500, what: 'a LoadBalancer IP and a bound claim'},
    )
    const [nodeBalancer] = cloud.fake.view().nodeBalancers
    const [volume] = cloud.fake.view().volumes
    expect(nodeBalancer).toMatchObject({lke_cluster: {id}, tags: ['fedobs', 'fedobs-federation:fed-observability', `fedobs-cluster:${HUB}`]})
    expect(volume).toMatchObject({tags: ['fedobs', 'fedobs-federation:fed-observability', `fedobs-cluster:${HUB}`]})
    expect(volume!.linode_id).not.toBeNull()
    const requestsBefore = cloud.fake.state.requests.length

    const result = await cloud.run(['cluster', 'delete', HUB, '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const {deleted, failed} = JSON.parse(result.stdout)
    expect(failed).toEqual([])
    expect(deleted).toHaveLength(1)
    expect(deleted[0]).toMatchObject({
      name: HUB,
      deleted: true,
      alreadyGone: false,
      leftBehind: [],
      release: {
        reachable: true,
        loadBalancers: [{namespace: 'observability-hub', name: 'otel-gateway-external', ip: nodeBalancer!.ipv4}],
        claims: [{namespace: 'observability-hub', name: 'queue-otel-gateway-0'}],
      },
      volumes: [{id: volume!.id, label: volume!.label, attached: true}],
    })

    const state = cloud.fake.view()
    expect(state.clusters).toEqual([])
    expect(state.nodeBalancers).toEqual([])
    expect(state.volumes).toEqual([])
    const deletes = cloud.fake.state.requests.slice(requestsBefore).filter((r) => r.method === 'DELETE')
    // The NodeBalancer (and the Cloud Firewall on it) were released by the cloud-controller stand-in
    // (the CLI deleted neither); the retained volume detached with the cluster and the CLI swept it.
    expect(deletes.map((r) => r.template)).toEqual(['/{apiVersion}/networking/firewalls/{firewallId}', '/{apiVersion}/lke/clusters/{clusterId}', '/{apiVersion}/volumes/{volumeId}'])
    expect(parse(readFileSync(cloud.kubeconfig, 'utf8')).contexts.map((c: {name: string}) => c.name)).not.toContain(CONTEXT)
    await waitFor(() => testbed.clusters.size === 0, {timeoutMs: 30_000, what: 'the bridge to stop the test-bed cluster'})
    expect(cloud.fake.state.violations).toEqual([])
  }, 180_000)
})
