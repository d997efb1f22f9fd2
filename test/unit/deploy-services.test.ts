import {describe, expect, it} from 'vitest'
import {renderEdge, type Rendering} from '../../src/render/render.js'
import {deployRendering} from '../../src/services/deploy.js'
import {GPU_LABEL, labelGpuNodes} from '../../src/services/deploy/gpu-nodes.js'
import {ensureGrafanaSecret} from '../../src/services/deploy/grafana-secret.js'
import {waitReady} from '../../src/services/deploy/readiness.js'
import {exampleFederation} from '../helpers/federation.js'
import {MemoryKube, manualClock} from '../helpers/memory-kube.js'

const EDGE = 'fed-observability-remote'
const deployment = {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'bert', namespace: 'bert-inference', generation: 1}, spec: {replicas: 1, selector: {matchLabels: {app: 'bert'}}}}

function options(clock = manualClock(), reports: string[] = []) {
  return {dryRun: false, forceConflicts: false, prune: true, wait: true, timeoutMs: 10_000, report: (m: string) => reports.push(m), signal: new AbortController().signal, clock}
}

describe('deploy services through the Kube adapter (no cluster, no real time)', () => {
  it('a workload that never gets ready: polls every 2 s on the given clock, then names its pending pod, the scheduler message and the warning event', async () => {
    const kube = new MemoryKube([
      {...deployment, status: {observedGeneration: 1, replicas: 1, availableReplicas: 0}},
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name: 'bert-1', namespace: 'bert-inference', labels: {app: 'bert'}},
        status: {phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'False', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'}]},
      },
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {name: 'e1', namespace: 'bert-inference'},
        type: 'Warning',
        reason: 'FailedScheduling',
        message: 'no GPU',
        involvedObject: {name: 'bert-1'},
        lastTimestamp: '2026-11-28T10:00:00Z',
      },
    ])
    const clock = manualClock()
    const rendering = {cluster: {name: EDGE, role: 'edge'}, objects: [deployment]} as unknown as Rendering
    const failure = await waitReady(kube, rendering, options(clock), []).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toContain('not ready after 10s')
    expect((failure as Error).message).toContain('Deployment/bert-inference/bert: 0/1 available')
    expect((failure as Error).message).toContain('pod bert-1: Pending — 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.')
    expect((failure as Error).message).toContain('event FailedScheduling: no GPU')
    expect(clock.slept).toEqual([2000, 2000, 2000, 2000, 2000])
  })

  it('a ready workload: no sleep at all', async () => {
    const kube = new MemoryKube([{...deployment, status: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1}}])
    const clock = manualClock()
    const reports: string[] = []
    const rendering = {cluster: {name: EDGE, role: 'edge'}, objects: [deployment]} as unknown as Rendering
    expect(await waitReady(kube, rendering, options(clock, reports), [])).toEqual({ready: true})
    expect(clock.slept).toEqual([])
    expect(reports).toEqual(['Deployment/bert-inference/bert: 1/1 available ✔'])
  })

  it('labels a GPU node once (capacity or a GPU plan), and leaves others alone', async () => {
    const kube = new MemoryKube([
      {apiVersion: 'v1', kind: 'Node', metadata: {name: 'gpu-by-capacity'}, status: {capacity: {'nvidia.com/gpu': '1'}}},
      {apiVersion: 'v1', kind: 'Node', metadata: {name: 'gpu-by-plan', labels: {'node.kubernetes.io/instance-type': 'g2-gpu-rtx4000a1-s'}}},
      {apiVersion: 'v1', kind: 'Node', metadata: {name: 'cpu', labels: {'node.kubernetes.io/instance-type': 'g6-standard-4'}}},
    ])
    expect(await labelGpuNodes(kube, true)).toEqual(['gpu-by-capacity', 'gpu-by-plan'])
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toEqual([])
    expect(await labelGpuNodes(kube, false)).toEqual(['gpu-by-capacity', 'gpu-by-plan'])
    expect(kube.objects.get('Node/gpu-by-plan')!.metadata!.labels![GPU_LABEL]).toBe('true')
    expect(kube.objects.get('Node/cpu')!.metadata!.labels![GPU_LABEL]).toBeUndefined()
    expect(await labelGpuNodes(kube, false)).toEqual([])
  })

  it('creates the Grafana admin Secret once; a second run (or a concurrent one) keeps it', async () => {
    const kube = new MemoryKube()
    expect(await ensureGrafanaSecret(kube, true)).toBe(false)
    expect(kube.objects.size).toBe(0)
    expect(await ensureGrafanaSecret(kube, false)).toBe(true)
    const password = (kube.objects.get('Secret/monitoring/grafana-admin')!.stringData as Record<string, string>)['admin-password']
    expect(password).toMatch(/^[\w-]{24}$/)
    expect(await ensureGrafanaSecret(kube, false)).toBe(false)
    expect((kube.objects.get('Secret/monitoring/grafana-admin')!.stringData as Record<string, string>)['admin-password']).toBe(password)
  })

  it('a dry run applies nothing, notes objects in namespaces that do not exist, and names what it would prune without deleting it', async () => {
    const stale = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'old-config', namespace: 'observability', labels: {'app.kubernetes.io/managed-by': 'fedobs', 'fedobs.io/cluster': EDGE}}}
    const kube = new MemoryKube([stale, {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'observability'}}])
    const rendering = renderEdge(exampleFederation(), EDGE, {hubEndpoint: '203.0.113.7:4317'})
    const reports: string[] = []
    const result = await deployRendering(kube, rendering, {...options(manualClock(), reports), dryRun: true})
    expect(result.applied).toHaveLength(rendering.objects.length)
    expect(result.pruned).toEqual(['ConfigMap/observability/old-config'])
    expect(kube.objects.has('ConfigMap/observability/old-config')).toBe(true)
    expect(reports).toContain('would prune ConfigMap/observability/old-config (no longer rendered)')
    expect(result.applied.filter((a) => a.note).every((a) => !a.key.includes('/observability/'))).toBe(true)
    expect(result.applied.some((a) => a.note?.includes('does not exist yet'))).toBe(true)
    expect(kube.calls.filter((c) => c.startsWith('apply')).every((c) => c.endsWith('(dry run)'))).toBe(true)
    expect(kube.calls.filter((c) => /^(create|replace|patch|delete) /.test(c))).toEqual([])
  })
})
