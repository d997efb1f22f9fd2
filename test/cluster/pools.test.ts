import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'

const startCloud = cloudPerTest()
const HUB = 'drift-hub'

/** A one-cluster federation with these pools (YAML flow text) and Kubernetes version. */
function federation(cloud: Cloud, pools: string, k8sVersion = '1.33', name = 'fed.yaml'): string {
  const file = path.join(cloud.home, name)
  writeFileSync(file, `apiVersion: fedobs/v1\nname: drift\nhub:\n  name: ${HUB}\n  region: us-ord\n  k8sVersion: "${k8sVersion}"\n  pools: ${pools}\n`)
  return file
}

function poolsOf(cloud: Cloud): Array<{type: string; count: number; autoscaler: {enabled: boolean; min: number; max: number}}> {
  const cluster = [...cloud.fake.state.clusters.values()].find((c) => c.label === HUB)!
  return [...cloud.fake.state.pools.values()]
    .filter((p) => p.clusterId === cluster.id)
    .sort((a, b) => a.id - b.id)
    .map((p) => ({type: p.type, count: p.count, autoscaler: p.autoscaler}))
}

const poolWrites = (cloud: Cloud) => cloud.fake.state.requests.filter((r) => /\/pools/.test(r.path) && r.method !== 'GET')

describe('cluster create on an existing cluster whose pools differ from the file', () => {
  it('warns with the exact differences and the fix, and changes nothing', async () => {
    const cloud = await startCloud()
    const original = federation(cloud, '[{type: g6-standard-2, count: 2}, {type: g2-gpu-rtx4000a1-s, count: 1, autoscaler: {min: 1, max: 2}}]')
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', original, '--no-wait'])).code).toBe(0)
    const changed = federation(cloud, '[{type: g6-standard-2, count: 3}, {type: g2-gpu-rtx4000a1-s, count: 1, autoscaler: {min: 1, max: 3}}, {type: g6-standard-4, count: 1}]', '1.33', 'changed.yaml')

    const result = await cloud.run(['cluster', 'create', 'hub', '-f', changed, '--no-wait'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`${HUB} exists and differs from the file:`)
    const id = [...cloud.fake.state.pools.values()].sort((a, b) => a.id - b.id).map((p) => p.id)
    expect(result.stderr).toContain(`pool g6-standard-2 (${id[0]}): count 2 → 3 (cluster → file)`)
    expect(result.stderr).toContain(`pool g2-gpu-rtx4000a1-s (${id[1]}): autoscaler 1-2 → autoscaler 1-3 (cluster → file)`)
    expect(result.stderr).toContain('pool g6-standard-4: in the file (count 1), missing in the cluster')
    expect(result.stderr).toContain(`to apply the pool and tag changes: fedobs cluster create hub -f ${changed} --no-wait --update-pools`)
    expect(poolWrites(cloud)).toEqual([])
    expect(poolsOf(cloud)).toHaveLength(2)

    const json = JSON.parse((await cloud.run(['cluster', 'create', 'hub', '-f', changed, '--no-wait', '--json'])).stdout)
    expect(json.clusters[0].drift.differences).toHaveLength(3)
    expect(json.clusters[0].drift.pools.map((p: {kind: string}) => p.kind)).toEqual(['update', 'update', 'add'])
  })

  it('--update-pools resizes, sets the autoscaler and adds the missing pool through the API (checked against the spec); a re-run finds no drift', async () => {
    const cloud = await startCloud()
    const original = federation(cloud, '[{type: g6-standard-2, count: 2}, {type: g2-gpu-rtx4000a1-s, count: 1, autoscaler: {min: 1, max: 2}}]')
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', original])).code).toBe(0)
    const changed = federation(cloud, '[{type: g6-standard-2, count: 3}, {type: g2-gpu-rtx4000a1-s, count: 1, autoscaler: {min: 1, max: 3}}, {type: g6-standard-4, count: 1}]', '1.33', 'changed.yaml')

    const result = await cloud.run(['cluster', 'create', 'hub', '-f', changed, '--update-pools', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(poolsOf(cloud)).toEqual([
      {type: 'g6-standard-2', count: 3, autoscaler: {enabled: false, min: 2, max: 2}},
      {type: 'g2-gpu-rtx4000a1-s', count: 1, autoscaler: {enabled: true, min: 1, max: 3}},
      {type: 'g6-standard-4', count: 1, autoscaler: {enabled: false, min: 1, max: 1}},
    ])
    expect(
      poolWrites(cloud)
        .map((r) => `${r.method} ${r.status}`)
        .sort(),
    ).toEqual(['POST 200', 'PUT 200', 'PUT 200'])
    // It waited for the new nodes too: every pool ready at the end.
    const [cluster] = JSON.parse(result.stdout).clusters
    expect(cluster.applied.added).toEqual([expect.objectContaining({type: 'g6-standard-4', count: 1})])
    expect(cluster.pools.map((p: {ready: number; count: number}) => p.ready === p.count)).toEqual([true, true, true])

    const again = await cloud.run(['cluster', 'create', 'hub', '-f', changed, '--no-wait'])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('differs from the file')
  })

  it('never deletes a pool that is not in the file, and does not upgrade Kubernetes: it says how', async () => {
    const cloud = await startCloud()
    const original = federation(cloud, '[{type: g6-standard-2, count: 1}, {type: g6-standard-4, count: 2}]', '1.32')
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', original, '--no-wait'])).code).toBe(0)
    const changed = federation(cloud, '[{type: g6-standard-2, count: 1}]', '1.33', 'changed.yaml')
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', changed, '--no-wait', '--update-pools'])
    expect(result.code, result.stderr).toBe(0)
    const cluster = [...cloud.fake.state.clusters.values()][0]!
    const extra = [...cloud.fake.state.pools.values()].find((p) => p.type === 'g6-standard-4')!
    expect(result.stderr).toMatch(new RegExp(`pool ${extra.id} \\(g6-standard-4\\) is left as it is: fedobs never deletes a node pool`))
    expect(result.stderr).toContain(`linode-cli lke pool-delete ${cluster.id} ${extra.id}`)
    expect(result.stderr).toContain('Kubernetes 1.32 in the cluster, 1.33 in the file')
    expect(result.stderr).toContain(`linode-cli lke cluster-update ${cluster.id} --k8s_version 1.33`)
    expect(poolsOf(cloud)).toHaveLength(2)
    expect(cluster.k8sVersion).toBe('1.32')
    expect(poolWrites(cloud)).toEqual([])
  })

  it('adds tags fedobs relies on that the cluster lacks (never removes one)', async () => {
    const cloud = await startCloud()
    const file = federation(cloud, '[{type: g6-standard-2, count: 1}]')
    cloud.fake.addCluster({label: HUB, region: 'us-ord', k8s_version: '1.33', node_pools: [{type: 'g6-standard-2', count: 1}], tags: ['fedobs', 'owner:ops']})
    const warned = await cloud.run(['cluster', 'create', 'hub', '-f', file, '--no-wait'])
    expect(warned.stderr).toContain('tags missing on the cluster: fedobs-federation:drift, fedobs-role:hub, fedobs-cluster:drift-hub')
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', file, '--no-wait', '--update-pools'])).code).toBe(0)
    expect([...cloud.fake.state.clusters.values()][0]!.tags.sort()).toEqual(['fedobs', 'fedobs-cluster:drift-hub', 'fedobs-federation:drift', 'fedobs-role:hub', 'owner:ops'])
  })
})
