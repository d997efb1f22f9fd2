import {existsSync, readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'

const EXAMPLE = 'examples/fedobs.yaml'
const startCloud = cloudPerTest()
let cloud: Cloud

function idOf(c: Cloud, label: string): number {
  return [...c.fake.state.clusters.values()].find((cluster) => cluster.label === label)!.id
}

async function withFederation(): Promise<Cloud> {
  const c = await startCloud()
  const created = await c.run(['cluster', 'create', '--all', '-f', EXAMPLE])
  expect(created.code, created.stderr).toBe(0)
  return c
}

describe('fedobs cluster delete and teardown', () => {
  it('deletes the cluster, sweeps its NodeBalancers and tagged detached volumes, and nothing else', async () => {
    cloud = await withFederation()
    const edge = idOf(cloud, 'fed-observability-remote')
    const hub = idOf(cloud, 'fed-observability-test')
    const ownNb = cloud.fake.addNodeBalancer({clusterId: edge, label: 'ccm-edge'})
    const hubNb = cloud.fake.addNodeBalancer({clusterId: hub, label: 'ccm-hub'})
    const strayNb = cloud.fake.addNodeBalancer({clusterId: null, label: 'somebody-elses'})
    const ownVolume = cloud.fake.addVolume({label: 'pvc-edge', tags: ['fedobs', 'fedobs-cluster:fed-observability-remote'], linodeId: null, size: 10})
    const hubVolume = cloud.fake.addVolume({label: 'pvc-hub', tags: ['fedobs', 'fedobs-cluster:fed-observability-test'], linodeId: null, size: 10})
    const untagged = cloud.fake.addVolume({label: 'data', tags: [], linodeId: null, size: 10})

    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remote', '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const [deleted] = JSON.parse(result.stdout).deleted
    expect(deleted).toMatchObject({name: 'fed-observability-remote', deleted: true, alreadyGone: false})
    expect(deleted.nodeBalancers).toEqual([{id: ownNb.id, label: 'ccm-edge'}])
    expect(deleted.volumes).toEqual([{id: ownVolume.id, label: 'pvc-edge', attached: false}])

    const state = cloud.fake.state
    expect([...state.clusters.values()].map((c) => c.label)).toEqual(['fed-observability-test'])
    expect([...state.nodeBalancers.keys()].sort()).toEqual([hubNb.id, strayNb.id].sort())
    expect([...state.volumes.keys()].sort()).toEqual([hubVolume.id, untagged.id].sort())
    const config = parse(readFileSync(cloud.kubeconfig, 'utf8'))
    expect(config.contexts.map((c: {name: string}) => c.name)).not.toContain('fedobs-fed-observability-remote')
    expect(config.contexts.map((c: {name: string}) => c.name)).toContain('fedobs-fed-observability-test')
    expect(config.clusters.map((c: {name: string}) => c.name)).toEqual([`lke${hub}`])
    expect(existsSync(`${cloud.home}/.kube/fedobs/fed-observability-remote.yaml`)).toBe(false)
  })

  it('needs --yes without a terminal (exit 2) and deletes nothing', async () => {
    cloud = await withFederation()
    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remote'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Pass --yes')
    expect(cloud.fake.state.clusters.size).toBe(2)
  })

  it('refuses a cluster fedobs did not create unless --force', async () => {
    cloud = await startCloud()
    cloud.fake.addCluster({label: 'handmade', region: 'us-ord', k8s_version: '1.33', node_pools: [{type: 'g6-standard-2', count: 1}], tags: ['mine']})
    const refused = await cloud.run(['cluster', 'delete', 'handmade', '--yes'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('was not created by fedobs')
    expect(cloud.fake.state.clusters.size).toBe(1)
    const forced = await cloud.run(['cluster', 'delete', 'handmade', '--yes', '--force'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(0)
  })

  it('treats an already deleted cluster as success, still sweeping what LKE left behind', async () => {
    cloud = await withFederation()
    const edge = idOf(cloud, 'fed-observability-remote')
    const leftover = cloud.fake.addNodeBalancer({clusterId: edge, label: 'left-behind'})
    // Someone deletes the cluster in Cloud Manager; its NodeBalancer stays (as on LKE).
    const response = await fetch(`${cloud.fake.url}/v4beta/lke/clusters/${edge}`, {method: 'DELETE', headers: {Authorization: `Bearer ${cloud.fake.token}`}})
    expect(response.status).toBe(200)
    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remote', '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).deleted[0]).toMatchObject({alreadyGone: true, deleted: false, id: edge})
    expect(cloud.fake.state.nodeBalancers.has(leftover.id)).toBe(false)
    expect(parse(readFileSync(cloud.kubeconfig, 'utf8')).contexts.map((c: {name: string}) => c.name)).not.toContain('fedobs-fed-observability-remote')
  })

  it('teardown --dry-run lists everything and deletes nothing', async () => {
    cloud = await withFederation()
    cloud.fake.addNodeBalancer({clusterId: idOf(cloud, 'fed-observability-test'), label: 'gateway-lb'})
    cloud.fake.addVolume({label: 'pvc-queue', tags: ['fedobs', 'fedobs-cluster:fed-observability-test'], linodeId: null, size: 10})
    const result = await cloud.run(['teardown', '-f', EXAMPLE, '--dry-run'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('LKE cluster fed-observability-test')
    expect(result.stdout).toContain('LKE cluster fed-observability-remote')
    expect(result.stdout).toContain('NodeBalancer gateway-lb')
    expect(result.stdout).toContain('volume pvc-queue')
    expect(cloud.fake.state.clusters.size).toBe(2)
    expect(cloud.fake.state.requests.some((r) => r.method === 'DELETE')).toBe(false)
  })

  it('teardown --yes removes every cluster and its kubeconfig entries; a second run is a no-op success', async () => {
    cloud = await withFederation()
    const first = await cloud.run(['teardown', '-f', EXAMPLE, '--yes'])
    expect(first.code, first.stderr).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(0)
    const config = parse(readFileSync(cloud.kubeconfig, 'utf8'))
    expect(config.contexts).toEqual([])
    expect(config.users).toEqual([])
    const second = await cloud.run(['teardown', '-f', EXAMPLE, '--yes'])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toContain('already gone')
  })

  it('sweeps tagged volumes on any page of the volume list', async () => {
    cloud = await withFederation()
    for (let i = 0; i < 505; i++) cloud.fake.addVolume({label: `other-${i}`, tags: [], linodeId: null, size: 10})
    const ours = cloud.fake.addVolume({label: 'pvc-last', tags: ['fedobs-cluster:fed-observability-remote'], linodeId: null, size: 10})
    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remote', '--yes'])
    expect(result.code, result.stderr).toBe(0)
    expect(cloud.fake.state.volumes.has(ours.id)).toBe(false)
    expect(cloud.fake.state.volumes.size).toBe(505)
    expect(cloud.fake.state.requests.some((r) => r.path.startsWith('/v4/volumes') && /page=2/.test(r.path))).toBe(true)
  })

  it('teardown without a federation file or --federation is a usage error', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['teardown', '--yes'], {cwd: cloud.home})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('which federation?')
  })
})

describe('fedobs cluster list', () => {
  it('lists the federation: id, label, role, region, version, status, nodes, context; also not yet created clusters', async () => {
    cloud = await startCloud()
    await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    const result = await cloud.run(['cluster', 'list', '-f', EXAMPLE, '--json'])
    expect(result.code).toBe(0)
    const {clusters} = JSON.parse(result.stdout)
    expect(clusters).toEqual([
      {
        id: idOf(cloud, 'fed-observability-test'),
        label: 'fed-observability-test',
        role: 'hub',
        region: 'us-ord',
        version: '1.33',
        status: 'ready',
        nodesReady: 4,
        nodesTotal: 4,
        context: 'fedobs-fed-observability-test',
      },
      {label: 'fed-observability-remote', role: 'edge', region: 'us-ord', version: '1.33', status: 'not created', nodesReady: 0, nodesTotal: 0},
    ])
    const table = await cloud.run(['cluster', 'list', '-f', EXAMPLE])
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+LABEL\s+ROLE\s+REGION\s+VERSION\s+STATUS\s+NODES\s+CONTEXT$/)
  })
})
