import type {V1Node} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {requireBinaries} from '../helpers/testbed.js'
import type {ApiCluster} from '../../src/sandbox/linode/server.js'
import {startLinodeTestbed, type LinodeTestbed} from '../../src/sandbox/testbed/bridge.js'
import type {TestCluster} from '../../src/sandbox/testbed/cluster.js'
import {LB_FINALIZER, LB_TAGS_ANNOTATION} from '../../src/sandbox/testbed/load-balancers.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES} from '../../src/sandbox/testbed/testbed.js'
import {CSI_DRIVER, SELECTED_NODE, sizeInGb, VOLUME_TAGS_PARAMETER} from '../../src/sandbox/testbed/volumes.js'

const binaries = requireBinaries(TESTBED_BINARIES)

describe('sizeInGb', () => {
  it('rounds a storage request up to whole GB, at least 10', () => {
    expect([sizeInGb('20Gi'), sizeInGb('1Gi'), sizeInGb('10G'), sizeInGb('1Ti'), sizeInGb('10737418241'), sizeInGb(undefined)]).toEqual([20, 10, 10, 1024, 11, 10])
  })
})

describe.skipIf(!binaries.ok)('the fake Linode API bridged to real test-bed clusters', () => {
  let sandbox: LinodeTestbed
  let lke: ApiCluster
  let cluster: TestCluster
  /** What the kubeconfig endpoint answered before the clock moved. */
  let kubeconfigAtFirst: number

  const api = async (method: string, path: string): Promise<Response> => fetch(`${sandbox.fake.url}/v4beta${path}`, {method, headers: {Authorization: `Bearer ${sandbox.fake.token}`}})
  const nodes = async (): Promise<V1Node[]> => (await cluster.clients().core.listNode()).items

  beforeAll(async () => {
    // The fake's clock moves only when the test says (advance): what the cloud has done is decided
    // here, not by how fast this machine runs.
    sandbox = await startLinodeTestbed({fake: {timeScale: 0.01, manualClock: true, timeline: {kubeconfigReadySeconds: 60}}})
    lke = sandbox.fake.addCluster({
      label: 'bridge-test',
      region: 'us-ord',
      k8s_version: '1.33',
      tags: ['fedobs'],
      node_pools: [
        {type: 'g6-standard-4', count: 2, labels: {'example.com/tier': 'general'}},
        {type: 'g2-gpu-rtx4000a1-s', count: 1},
      ],
    })
    // 100 simulated seconds in: the kubeconfig (60 s) and the standard nodes (90 s) are ready, the GPU
    // node (150 s) is not; it joins when a test advances the clock (as if its Linode were slow to boot).
    kubeconfigAtFirst = (await api('GET', `/lke/clusters/${lke.id}/kubeconfig`)).status
    sandbox.fake.advance(100)
    cluster = await sandbox.bridge.cluster(lke.id)
  })

  afterAll(async () => {
    await sandbox?.stop()
    expect(sandbox?.fake.state.violations ?? []).toEqual([])
  })

  it('starts a test-bed cluster for the LKE cluster and hands it out as the kubeconfig (after the 503s)', async () => {
    expect(kubeconfigAtFirst).toBe(503)
    const response = await waitFor(
      async () => {
        const r = await api('GET', `/lke/clusters/${lke.id}/kubeconfig`)
        return r.status === 200 ? r : undefined
      },
      {timeoutMs: 30_000, intervalMs: 250, what: 'the kubeconfig'},
    )
    const yaml = Buffer.from(((await response.json()) as {kubeconfig: string}).kubeconfig, 'base64').toString('utf8')
    expect(yaml).toBe(cluster.kubeconfig)
    const config = parse(yaml)
    expect(config.contexts[0].name).toBe(`lke${lke.id}-ctx`)
    expect(config.users[0]).toEqual({name: `lke${lke.id}-admin`, user: {token: sandbox.fake.state.clusters.get(lke.id)!.kubeToken}})
    expect(config.clusters[0].cluster.server).toBe(cluster.server)
  })

  it('turns the pool nodes the fake reports ready into LKE-shaped Node objects; the GPU pool joins later', async () => {
    const standard = await waitFor(async () => ((await nodes()).length === 2 ? nodes() : undefined), {timeoutMs: 30_000, what: 'two standard nodes'})
    const fakeNodes = sandbox.fake.view().nodes.filter((n) => n.clusterId === lke.id)
    for (const node of standard) {
      const match = fakeNodes.find((n) => `linode://${n.instance_id}` === node.spec?.providerID)
      expect(match, node.metadata?.name).toBeDefined()
      expect(node.metadata?.name).toBe(`lke${lke.id}-${match!.poolId}-${match!.id.split('-')[1]!.slice(0, 8)}`)
      expect(node.metadata?.labels).toMatchObject({
        'node.kubernetes.io/instance-type': 'g6-standard-4',
        'lke.linode.com/pool-id': String(match!.poolId),
        'topology.kubernetes.io/region': 'us-ord',
        'kubernetes.io/hostname': node.metadata?.name,
        'example.com/tier': 'general',
      })
    }

    expect(sandbox.fake.view().nodes.filter((n) => n.clusterId === lke.id && n.status === 'ready')).toHaveLength(2)
    sandbox.fake.advance(50)
    const all = await waitFor(async () => ((await nodes()).length === 3 ? nodes() : undefined), {timeoutMs: 30_000, what: 'the GPU node'})
    const gpu = all.find((n) => n.metadata?.labels?.['node.kubernetes.io/instance-type'] === 'g2-gpu-rtx4000a1-s')
    expect(gpu?.status?.capacity?.['nvidia.com/gpu']).toBe('1')
    expect(gpu?.metadata?.labels?.['nvidia.com/gpu.present']).toBeUndefined()
  })

  it('gives a LoadBalancer Service a NodeBalancer (lke_cluster, tags) and its IP; deleting the Service removes both', async () => {
    const {core} = cluster.clients()
    await core.createNamespace({body: {metadata: {name: 'observability-hub'}}})
    await core.createNamespacedService({
      namespace: 'observability-hub',
      body: {
        metadata: {name: 'otel-gateway-external', annotations: {[LB_TAGS_ANNOTATION]: 'fedobs,fedobs-cluster:bridge-test', 'service.beta.kubernetes.io/linode-loadbalancer-default-protocol': 'tcp'}},
        spec: {type: 'LoadBalancer', selector: {app: 'otel-gateway'}, ports: [{name: 'otlp-grpc', port: 4317}]},
      },
    })
    const service = await waitFor(
      async () => {
        const s = await core.readNamespacedService({name: 'otel-gateway-external', namespace: 'observability-hub'})
        return s.status?.loadBalancer?.ingress?.[0]?.ip ? s : undefined
      },
      {timeoutMs: 20_000, what: 'an ingress IP'},
    )
    expect(service.metadata?.finalizers).toContain(LB_FINALIZER)
    const [nodeBalancer, ...more] = sandbox.fake.view().nodeBalancers
    expect(more).toEqual([])
    expect(nodeBalancer).toMatchObject({lke_cluster: {id: lke.id, label: 'bridge-test'}, tags: ['fedobs', 'fedobs-cluster:bridge-test'], region: 'us-ord'})
    expect(service.status?.loadBalancer?.ingress?.[0]?.ip).toBe(nodeBalancer!.ipv4)
    // The fake's NodeBalancer addresses are in TEST-NET-1: documentation-only, never routed.
    expect(nodeBalancer!.ipv4).toMatch(/^192\.0\.2\./)

    await core.deleteNamespacedService({name: 'otel-gateway-external', namespace: 'observability-hub'})
    await waitFor(async () => (await core.listNamespacedService({namespace: 'observability-hub'})).items.length === 0, {timeoutMs: 20_000, what: 'the Service to go'})
    expect(sandbox.fake.view().nodeBalancers).toEqual([])
  })

  it('provisions a WaitForFirstConsumer PVC once a pod uses it: bound PV, tagged fake volume attached to the pod’s node; Retain keeps the volume', async () => {
    const {core, storage} = cluster.clients()
    await storage.createStorageClass({
      body: {
        metadata: {name: 'fedobs-block-storage'},
        provisioner: CSI_DRIVER,
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
        parameters: {[VOLUME_TAGS_PARAMETER]: 'fedobs,fedobs-federation:fed,fedobs-cluster:bridge-test'},
      },
    })
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {metadata: {name: 'prometheus-data'}, spec: {accessModes: ['ReadWriteOnce'], storageClassName: 'fedobs-block-storage', resources: {requests: {storage: '20Gi'}}}},
    })
    // Nobody uses it yet: it waits, and no volume exists.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect((await core.readNamespacedPersistentVolumeClaim({name: 'prometheus-data', namespace: 'default'})).status?.phase).toBe('Pending')
    expect(sandbox.fake.view().volumes).toEqual([])

    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: {name: 'prometheus-0'},
        spec: {
          containers: [{name: 'prometheus', image: 'prom/prometheus', volumeMounts: [{name: 'data', mountPath: '/prometheus'}]}],
          volumes: [{name: 'data', persistentVolumeClaim: {claimName: 'prometheus-data'}}],
        },
      },
    })
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({name: 'prometheus-0', namespace: 'default'})
        return p.status?.phase === 'Running' ? p : undefined
      },
      {timeoutMs: 45_000, what: 'the pod to be scheduled and running'},
    )
    const claim = await core.readNamespacedPersistentVolumeClaim({name: 'prometheus-data', namespace: 'default'})
    expect(claim.status?.phase).toBe('Bound')
    expect(claim.metadata?.annotations?.[SELECTED_NODE]).toBe(pod.spec?.nodeName)
    const pv = await core.readPersistentVolume({name: claim.spec!.volumeName!})
    expect(pv.spec).toMatchObject({
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'fedobs-block-storage',
      csi: {driver: CSI_DRIVER},
      claimRef: {name: 'prometheus-data', namespace: 'default'},
    })

    const node = await core.readNode({name: pod.spec!.nodeName!})
    const [volume, ...more] = sandbox.fake.view().volumes
    expect(more).toEqual([])
    expect(volume).toMatchObject({size: 20, region: 'us-ord', tags: ['fedobs', 'fedobs-federation:fed', 'fedobs-cluster:bridge-test']})
    expect(`linode://${volume!.linode_id}`).toBe(node.spec?.providerID)
    expect(pv.spec?.csi?.volumeHandle).toBe(`${volume!.id}-${volume!.label}`)

    await core.deleteNamespacedPod({name: 'prometheus-0', namespace: 'default', gracePeriodSeconds: 0})
    await core.deleteNamespacedPersistentVolumeClaim({name: 'prometheus-data', namespace: 'default'})
    await waitFor(async () => (await core.readPersistentVolume({name: pv.metadata!.name!})).status?.phase === 'Released', {timeoutMs: 30_000, what: 'the PV to be Released'})
    expect(sandbox.fake.view().volumes.map((v) => v.id)).toEqual([volume!.id])
  })

  it('deletes the fake volume of a Released PV whose class says Delete', async () => {
    const {core, storage} = cluster.clients()
    await storage.createStorageClass({body: {metadata: {name: 'scratch'}, provisioner: CSI_DRIVER, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate'}})
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {metadata: {name: 'scratch'}, spec: {accessModes: ['ReadWriteOnce'], storageClassName: 'scratch', resources: {requests: {storage: '10Gi'}}}},
    })
    const bound = await waitFor(
      async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({name: 'scratch', namespace: 'default'})
        return c.status?.phase === 'Bound' ? c : undefined
      },
      {timeoutMs: 30_000, what: 'the Immediate claim to bind'},
    )
    const before = sandbox.fake.view().volumes.length
    await core.deleteNamespacedPersistentVolumeClaim({name: 'scratch', namespace: 'default'})
    await waitFor(async () => !(await core.listPersistentVolume()).items.some((pv) => pv.metadata?.name === bound.spec?.volumeName), {timeoutMs: 30_000, what: 'the PV to go'})
    expect(sandbox.fake.view().volumes.length).toBe(before - 1)
  })

  it('stops the test-bed cluster when the LKE cluster is deleted (its volumes detach, as LKE does)', async () => {
    // A cluster of its own, with a volume attached to its Linode: the other tests keep theirs.
    const doomed = sandbox.fake.addCluster({label: 'bridge-doomed', region: 'us-ord', k8s_version: '1.33', tags: ['fedobs'], node_pools: [{type: 'g6-standard-2', count: 1}]}, {ageSeconds: 600})
    const own = await sandbox.bridge.cluster(doomed.id)
    const instance = sandbox.fake.view().instances.find((i) => i.lke_cluster_id === doomed.id)!
    const volume = sandbox.fake.addVolume({label: 'doomed-data', linodeId: instance.id, size: 10})
    expect(volume.linode_id).toBe(instance.id)
    const pids = own.processes.map((p) => p.pid)
    expect((await api('DELETE', `/lke/clusters/${doomed.id}`)).status).toBe(200)
    await waitFor(() => !sandbox.testbed.clusters.has(own.name) && own.processes.every((p) => !p.isRunning()), {timeoutMs: 30_000, what: 'the test-bed cluster to stop'})
    expect(pids.length).toBe(4)
    expect(sandbox.fake.view().volumes.find((v) => v.id === volume.id)).toMatchObject({linode_id: null, linode_label: null})
    expect(sandbox.testbed.clusters.has(cluster.name)).toBe(true)
    // The other tests count the volumes: this one goes.
    expect((await api('DELETE', `/volumes/${volume.id}`)).status).toBe(200)
  })
})
