import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {clusterOverrides, federationOverrides, parsePoolFlag} from '../../src/federation/flags.js'
import {loadFederation} from '../../src/federation/load.js'
import {ConfigError, UsageError} from '../../src/lib/errors.js'
import {EXAMPLE, exampleFederation} from '../helpers/federation.js'

function tempFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-fed-'))
  const file = path.join(dir, 'fedobs.yaml')
  writeFileSync(file, text)
  return file
}

describe('the example federation (the seed)', () => {
  const federation = exampleFederation()

  it('describes the seed hub and edge in us-ord', () => {
    expect(federation.name).toBe('fed-observability')
    expect(federation.hub).toMatchObject({name: 'fed-observability-test', role: 'hub', region: 'us-ord', k8sVersion: '1.33', gpu: true})
    expect(federation.hub.pools).toEqual([
      {type: 'g6-standard-4', count: 3},
      {type: 'g2-gpu-rtx4000a1-s', count: 1},
    ])
    expect(federation.edges).toHaveLength(1)
    expect(federation.edges[0]).toMatchObject({name: 'fed-observability-remote', role: 'edge', gpu: true})
    expect(federation.edges[0]!.pools[0]).toEqual({type: 'g6-standard-2', count: 2, autoscaler: {min: 2, max: 4}})
  })

  it('fills the defaults it does not state', () => {
    expect(federation.telemetry.storage).toEqual({prometheus: '50Gi', loki: '20Gi', tempo: '20Gi', gatewayQueue: '10Gi', agentQueue: '1Gi'})
    expect(federation.telemetry.storageClass).toBe('fedobs-block-storage')
    expect(federation.inference.gpusPerReplica).toBe(1)
  })
})

describe('flags override the file', () => {
  it('applies federation and cluster flags', () => {
    const flags = {retention: '7d', 'queue-size': 2000, pool: ['g6-standard-8:2:1-5'], gpu: false}
    const federation = loadFederation({file: EXAMPLE, overrides: [...federationOverrides(flags), ...clusterOverrides(flags, {role: 'edge', name: 'fed-observability-remote'})]})
    expect(federation.telemetry.retention).toBe('7d')
    expect(federation.telemetry.queue.size).toBe(2000)
    expect(federation.edges[0]!.pools).toEqual([{type: 'g6-standard-8', count: 2, autoscaler: {min: 1, max: 5}}])
    expect(federation.edges[0]!.gpu).toBe(false)
    expect(federation.hub.gpu).toBe(true)
  })

  it('names the flag, not the file, when a flag value is bad', () => {
    try {
      loadFederation({file: EXAMPLE, overrides: federationOverrides({retention: 'forever'})})
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const [issue] = (error as ConfigError).issues
      expect(issue).toMatchObject({file: '--retention', field: 'telemetry.retention'})
      expect(issue!.expected).toContain('duration')
    }
  })

  it('turns the inference demo on with --inference-image', () => {
    const federation = loadFederation({file: EXAMPLE, overrides: federationOverrides({'inference-image': 'registry.example.com/bert:1.2'})})
    expect(federation.inference).toMatchObject({enabled: true, image: 'registry.example.com/bert:1.2'})
  })

  it('does not invent an edge the file lacks when a cluster flag names it', () => {
    const federation = loadFederation({file: EXAMPLE, overrides: clusterOverrides({gpu: true}, {role: 'edge', name: 'typo-edge'})})
    expect(federation.edges.map((e) => e.name)).toEqual(['fed-observability-remote'])
  })

  it('works from flags alone when there is no file', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'fedobs-empty-'))
    const flags = {federation: 'solo', pool: ['g2-gpu-rtx4000a1-s:1']}
    const federation = loadFederation({cwd, fallbackEdges: ['edge-1'], overrides: [...federationOverrides(flags), ...clusterOverrides(flags, {role: 'edge', name: 'edge-1'})]})
    expect(federation.source).toBeUndefined()
    expect(federation.name).toBe('solo')
    expect(federation.edges).toHaveLength(1)
    expect(federation.edges[0]).toMatchObject({name: 'edge-1', gpu: true})
  })

  it('reads ./fedobs.yaml by default', () => {
    const file = tempFile('apiVersion: fedobs/v1\nname: local\nhub: {name: local-hub}\n')
    const federation = loadFederation({cwd: path.dirname(file)})
    expect(federation.name).toBe('local')
    expect(federation.source).toBe(file)
  })

  it('parses --pool TYPE:COUNT[:MIN-MAX] and refuses anything else', () => {
    expect(parsePoolFlag('g6-standard-4:3')).toEqual({type: 'g6-standard-4', count: 3})
    expect(parsePoolFlag('g2-gpu-rtx4000a1-s:1:1-2')).toEqual({type: 'g2-gpu-rtx4000a1-s', count: 1, autoscaler: {min: 1, max: 2}})
    expect(() => parsePoolFlag('g6-standard-4')).toThrow(UsageError)
    expect(() => parsePoolFlag('g6-standard-4:x')).toThrow(/TYPE:COUNT/)
  })
})

describe('all problems at once', () => {
  it('reports every problem of a file, sorted by line', () => {
    const file = tempFile('apiVersion: fedobs/v1\nname: Bad Name\nhub:\n  name: h\n  pools:\n    - {type: g6-standard-4, count: 0}\ntelemetry: {retention: soon}\n')
    try {
      loadFederation({file})
      expect.unreachable()
    } catch (error) {
      const issues = (error as ConfigError).issues
      expect(issues.map((i) => [i.line, i.field])).toEqual([
        [2, 'name'],
        [6, 'hub.pools[0].count'],
        [7, 'telemetry.retention'],
      ])
    }
  })

  it('refuses a missing file with a usage error', () => {
    expect(() => loadFederation({file: '/nonexistent/fedobs.yaml'})).toThrow(/federation file not found/)
  })
})
