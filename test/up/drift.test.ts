import {describe, expect, it} from 'vitest'
import {clusterDrift, type LiveCluster} from '../../src/services/status-drift.js'
import type {ClusterPayload} from '../../src/linode/types.js'

const desired: ClusterPayload = {
  label: 'edge-1',
  region: 'us-ord',
  k8s_version: '1.33',
  node_pools: [
    {type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}},
    {type: 'g6-standard-4', count: 3},
  ],
  tags: ['fedobs', 'fedobs-cluster:edge-1'],
}

const off = {enabled: false, min: 0, max: 0}

function live(overrides: Partial<LiveCluster['cluster']> = {}, pools?: LiveCluster['pools']): LiveCluster {
  return {
    cluster: {region: 'us-ord', k8s_version: '1.33', tags: ['fedobs-cluster:edge-1', 'fedobs'], ...overrides},
    // The cloud lists the pools in another order than the file: not drift.
    pools: pools ?? [
      {type: 'g6-standard-4', count: 3, autoscaler: off},
      {type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}},
    ],
  }
}

describe('clusterDrift', () => {
  it('finds none when the cloud matches the file, whatever the order of pools and tags', () => {
    expect(clusterDrift(desired, live())).toEqual([])
  })

  it('reports a changed pool count of a pool without autoscaler, with both values', () => {
    const drift = clusterDrift(
      desired,
      live({}, [
        {type: 'g6-standard-4', count: 5, autoscaler: off},
        {type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}},
      ]),
    )
    expect(drift).toEqual([{field: 'pools[g6-standard-4].count', file: '3', cloud: '5', message: 'pool g6-standard-4: 5 node(s), the file says 3'}])
  })

  it('lets an autoscaled pool move within its range, and reports it outside', () => {
    const within = live({}, [
      {type: 'g6-standard-4', count: 3, autoscaler: off},
      {type: 'g6-standard-2', count: 4, autoscaler: {enabled: true, min: 2, max: 4}},
    ])
    expect(clusterDrift(desired, within)).toEqual([])
    const outside = live({}, [
      {type: 'g6-standard-4', count: 3, autoscaler: off},
      {type: 'g6-standard-2', count: 1, autoscaler: {enabled: true, min: 2, max: 4}},
    ])
    expect(clusterDrift(desired, outside).map((d) => d.field)).toEqual(['pools[g6-standard-2].count'])
  })

  it('reports an autoscaler switched off or with other bounds', () => {
    const drift = clusterDrift(
      desired,
      live({}, [
        {type: 'g6-standard-4', count: 3, autoscaler: {enabled: true, min: 1, max: 3}},
        {type: 'g6-standard-2', count: 2, autoscaler: off},
      ]),
    )
    expect(drift.map((d) => [d.field, d.file, d.cloud])).toEqual([
      ['pools[g6-standard-2].autoscaler', '2-4', 'off'],
      ['pools[g6-standard-4].autoscaler', 'off', '1-3'],
    ])
  })

  it('reports a pool missing from the cloud and one the file does not have', () => {
    const drift = clusterDrift(
      desired,
      live({}, [
        {type: 'g6-standard-2', count: 2, autoscaler: {enabled: true, min: 2, max: 4}},
        {type: 'g6-dedicated-8', count: 1, autoscaler: off},
      ]),
    )
    expect(drift.map((d) => d.message)).toEqual(['pool g6-dedicated-8 × 1 is in the cloud but not in the file', 'pool g6-standard-4 × 3 is in the file but not in the cloud'])
  })

  it('pairs several pools of one type by count', () => {
    const two: ClusterPayload = {
      ...desired,
      node_pools: [
        {type: 'g6-standard-4', count: 1},
        {type: 'g6-standard-4', count: 3},
      ],
    }
    const same = live({}, [
      {type: 'g6-standard-4', count: 3, autoscaler: off},
      {type: 'g6-standard-4', count: 1, autoscaler: off},
    ])
    expect(clusterDrift(two, same)).toEqual([])
    const changed = live({}, [
      {type: 'g6-standard-4', count: 3, autoscaler: off},
      {type: 'g6-standard-4', count: 2, autoscaler: off},
    ])
    expect(clusterDrift(two, changed).map((d) => [d.field, d.file, d.cloud])).toEqual([['pools[g6-standard-4#1].count', '1', '2']])
  })

  it('reports the Kubernetes version, the region and the tags', () => {
    const drift = clusterDrift(desired, live({k8s_version: '1.32', region: 'us-east', tags: ['fedobs', 'team:a']}))
    expect(drift.map((d) => d.field)).toEqual(['region', 'k8sVersion', 'tags'])
    expect(drift[2]!.message).toBe('tags differ: missing fedobs-cluster:edge-1; not in the file: team:a')
  })
})
