import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadFederation} from '../../src/federation/load.js'
import {federationSchema} from '../../src/federation/schema.js'
import {REPO} from '../helpers/cli.js'

type SchemaNode = {default?: unknown; $ref?: string; properties?: Record<string, SchemaNode>; type?: string}

/** Every field of the schema that has a default, as [path, default], following $refs into definitions. */
function defaultsOf(node: SchemaNode, at: string[] = []): Array<[string[], unknown]> {
  const definitions = federationSchema.definitions as unknown as Record<string, SchemaNode>
  const target = node.$ref ? definitions[node.$ref.replace('#/definitions/', '')]! : node
  const own: Array<[string[], unknown]> = node.default !== undefined && typeof node.default !== 'object' ? [[at, node.default]] : []
  const children = Object.entries(target.properties ?? {}).flatMap(([key, child]) => defaultsOf(child, [...at, key]))
  return [...own, ...children]
}

function minimalFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-schema-'))
  writeFileSync(path.join(dir, 'fedobs.yaml'), text)
  return path.join(dir, 'fedobs.yaml')
}

function valueAt(root: unknown, at: string[]): unknown {
  return at.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root)
}

describe('JSON Schema of the federation file', () => {
  it('is checked in as schema/fedobs.schema.json, identical to what `config schema` prints', () => {
    const committed = JSON.parse(readFileSync(`${REPO}schema/fedobs.schema.json`, 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(federationSchema)))
  })

  it('documents every field with a type and the defaults fedobs applies', () => {
    const cluster = federationSchema.definitions.cluster.properties
    expect(cluster.k8sVersion.default).toBe('1.33')
    expect(federationSchema.definitions.telemetry.properties.retention.default).toBe('15d')
    expect(federationSchema.required).toEqual(['apiVersion', 'name', 'hub'])
  })
})

describe('defaults of the federation file come from the schema alone', () => {
  const minimal = 'apiVersion: fedobs/v1\nname: demo\nhub: {name: hub-1}\nedges: [{name: edge-1}]\n'

  it('fills every scalar default the schema states, at every level, when the file leaves the section out', () => {
    // Given a file that states nothing optional
    const federation = loadFederation({file: minimalFile(minimal)})
    const top = defaultsOf(federationSchema as unknown as SchemaNode).filter(([at]) => at[0] !== 'hub' && at[0] !== 'edges')
    const cluster = defaultsOf(federationSchema.definitions.cluster)
    // Then each schema default is the resolved value (the scan found the nested ones too)
    expect(top.length).toBeGreaterThanOrEqual(20)
    for (const [at, value] of top) expect({at, value: valueAt(federation, at)}).toEqual({at, value})
    for (const [at, value] of cluster) {
      expect({at, value: valueAt(federation.hub, at)}).toEqual({at, value})
      expect({at, value: valueAt(federation.edges[0], at)}).toEqual({at, value})
    }
    expect(federation.hub).toMatchObject({tags: [], controlPlaneAcl: [], pools: [], gpu: false})
    expect(federation.security.pii).toMatchObject({allowKeys: [], patterns: []})
    expect(federation.telemetry.gateway.allowedSources).toEqual([])
  })

  it('keeps what the file states and fills only the siblings it leaves out', () => {
    const federation = loadFederation({
      file: minimalFile(`${minimal}telemetry:\n  storage: {loki: 5Gi}\n  gateway: {autoscaling: {maxReplicas: 9}}\nsecurity: {pii: {enabled: false}}\n`),
    })
    expect(federation.telemetry.storage).toEqual({prometheus: '50Gi', loki: '5Gi', tempo: '20Gi', gatewayQueue: '10Gi', agentQueue: '1Gi'})
    expect(federation.telemetry.gateway.autoscaling).toEqual({enabled: true, minReplicas: 2, maxReplicas: 9, targetCPUUtilization: 70})
    expect(federation.security).toMatchObject({mtls: true, pii: {enabled: false, allowKeys: [], patterns: []}})
  })

  it('gives each load its own copy of a default list', () => {
    const file = minimalFile(minimal)
    const first = loadFederation({file})
    first.telemetry.gateway.allowedSources.push('203.0.113.0/24')
    first.hub.controlPlaneAcl.push('203.0.113.0/24')
    const second = loadFederation({file})
    expect(second.telemetry.gateway.allowedSources).toEqual([])
    expect(second.hub.controlPlaneAcl).toEqual([])
  })

  it('checks a rule between two fields against the default of the one the file leaves out', () => {
    // minReplicas 8 > the default maxReplicas 6
    expect(() => loadFederation({file: minimalFile(`${minimal}telemetry: {gateway: {autoscaling: {minReplicas: 8}}}\n`)})).toThrow(/minReplicas 8 is greater than maxReplicas 6/)
  })
})

describe('JSON Schema of `fedobs verify --json`', () => {
  it('is checked in as schema/verify.schema.json, identical to the one the tests validate against', async () => {
    const {verifySchema} = await import('../../src/verify/schema.js')
    const committed = JSON.parse(readFileSync(`${REPO}schema/verify.schema.json`, 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(verifySchema)))
  })
})
