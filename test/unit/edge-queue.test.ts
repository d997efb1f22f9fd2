import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadFederation} from '../../src/federation/load.js'
import {renderEdge, renderHub} from '../../src/render/render.js'
import {configOf, EXAMPLE, exampleFederation, find, podSpec} from '../helpers/federation.js'

const EDGE = 'fed-observability-remote'
const federation = exampleFederation()
const edge = renderEdge(federation, EDGE, {hubEndpoint: '172.238.181.107:4317'})
const hub = renderHub(federation)

/** The example federation file with telemetry.storage.agentQueue set. */
function withAgentQueue(value: string) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'fedobs-edge-queue-')), 'fedobs.yaml')
  const text = readFileSync(EXAMPLE, 'utf8')
  expect(text).toMatch(/^telemetry:\n/m)
  writeFileSync(file, text.replace(/^telemetry:\n/m, `telemetry:\n  storage:\n    agentQueue: ${value}\n`))
  return loadFederation({file})
}

describe('edge collectors queue on disk, within the budget of the federation file', () => {
  it.each([
    ['agent', 'otel-agent-config'],
    ['scraper', 'otel-scraper-config'],
  ])('the %s: a persistent queue measured in bytes, the 1Gi default budget, retries that never give up, no batch in memory', (_who, name) => {
    for (const rendering of [edge, hub]) {
      const config = configOf(rendering.objects, name, 'config.yaml')
      const exporter = config.exporters['otlp_grpc/gateway']
      expect(exporter.sending_queue).toMatchObject({enabled: true, storage: 'file_storage/queue', sizer: 'bytes', queue_size: 2 ** 30})
      expect(exporter.sending_queue.batch).toMatchObject({sizer: 'items'})
      expect(exporter.retry_on_failure).toMatchObject({enabled: true, max_elapsed_time: '0s'})
      expect(config.extensions['file_storage/queue']).toMatchObject({directory: '/var/lib/otelcol/queue', create_directory: true})
      expect(config.service.extensions).toContain('file_storage/queue')
      expect(config.processors.batch).toBeUndefined()
      for (const pipeline of Object.values<{processors: string[]}>(config.service.pipelines)) expect(pipeline.processors).not.toContain('batch')
    }
  })

  it('takes the budget from telemetry.storage.agentQueue', () => {
    const custom = withAgentQueue('256Mi')
    expect(custom.telemetry.storage.agentQueue).toBe('256Mi')
    const rendering = renderEdge(custom, EDGE, {hubEndpoint: '172.238.181.107:4317'})
    for (const name of ['otel-agent-config', 'otel-scraper-config']) {
      expect(configOf(rendering.objects, name, 'config.yaml').exporters['otlp_grpc/gateway'].sending_queue.queue_size).toBe(256 * 2 ** 20)
    }
    // The scraper's volume holds the queue twice over (compaction writes a copy).
    expect((find(rendering.objects, 'PersistentVolumeClaim', 'otel-scraper-queue', 'observability') as any).spec.resources.requests.storage).toBe('512Mi')
  })

  it('refuses a budget that is not a storage size', () => {
    expect(() => withAgentQueue('1GB')).toThrow(/agentQueue/)
  })

  it('the agent keeps its queue on the node (hostPath under /var/lib/otelcol), surviving pod restarts', () => {
    const daemonSet = find(edge.objects, 'DaemonSet', 'otel-agent', 'observability')
    const spec = podSpec(daemonSet)
    const mount = spec.containers[0].volumeMounts.find((m: {mountPath: string}) => m.mountPath === '/var/lib/otelcol')
    const volume = spec.volumes.find((v: {name: string}) => v.name === mount.name)
    expect(volume.hostPath).toEqual({path: '/var/lib/otelcol/otel-agent', type: 'DirectoryOrCreate'})
  })

  it('the scraper keeps its queue on a volume of the federation StorageClass, writable by fsGroup, one pod at a time', () => {
    for (const rendering of [edge, hub]) {
      const deployment = find(rendering.objects, 'Deployment', 'otel-scraper', 'observability') as any
      const spec = podSpec(deployment)
      expect(deployment.spec.strategy).toEqual({type: 'Recreate'})
      expect(spec.securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001})
      expect(spec.containers[0].volumeMounts).toContainEqual({name: 'queue', mountPath: '/var/lib/otelcol/queue'})
      expect(spec.volumes).toContainEqual({name: 'queue', persistentVolumeClaim: {claimName: 'otel-scraper-queue'}})
      const claim = find(rendering.objects, 'PersistentVolumeClaim', 'otel-scraper-queue', 'observability') as any
      expect(claim.spec).toMatchObject({accessModes: ['ReadWriteOnce'], storageClassName: 'fedobs-block-storage', resources: {requests: {storage: '2048Mi'}}})
      // The StorageClass fedobs renders (tagged volumes, swept at teardown) exists on every cluster.
      expect(find(rendering.objects, 'StorageClass', 'fedobs-block-storage').parameters).toEqual({
        'linodebs.csi.linode.com/volumeTags': `fedobs,fedobs-federation:${federation.name},fedobs-cluster:${rendering.cluster.name}`,
      })
    }
  })
})
