import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {commandSchemas} from '../../src/cli/schemas.js'
import {REPO, runCli} from '../helpers/cli.js'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'
import {expectDocument, schemaValidator} from '../helpers/json-schemas.js'

const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'
/** Commands whose result is no document: a shell script. */
const NO_DOCUMENT = new Set(['completion'])

describe('the JSON Schemas of the --json documents (schema/)', () => {
  it('are checked in, each file identical to its schema in src/cli/schemas.ts, and no file without one', () => {
    for (const [name, schema] of Object.entries(commandSchemas)) {
      const committed = JSON.parse(readFileSync(`${REPO}schema/${name}.schema.json`, 'utf8'))
      expect(committed, `schema/${name}.schema.json differs from src/cli/schemas.ts: run npm run schemas`).toEqual(JSON.parse(JSON.stringify(schema)))
    }
    const files = readdirSync(`${REPO}schema`).filter((f) => f.endsWith('.schema.json') && f !== 'fedobs.schema.json')
    expect(files.sort()).toEqual(
      Object.keys(commandSchemas)
        .map((name) => `${name}.schema.json`)
        .sort(),
    )
  })

  it('exist for every fedobs command that prints a result', () => {
    const manifest = JSON.parse(readFileSync(`${REPO}oclif.manifest.json`, 'utf8')) as {commands: Record<string, unknown>}
    const missing = Object.keys(manifest.commands)
      .filter((id) => !NO_DOCUMENT.has(id))
      .map((id) => id.replaceAll(':', '-'))
      .filter((name) => !(name in commandSchemas))
    expect(missing, 'commands without a schema in src/cli/schemas.ts').toEqual([])
  })

  it('are valid JSON Schemas that reject what they should (a document with an unknown field)', () => {
    const validate = schemaValidator('cluster-list')
    expect(validate({clusters: [{label: 'a', status: 'ready', nodesReady: 1, nodesTotal: 1}]})).toBe(true)
    expect(validate({clusters: [{label: 'a', status: 'ready', nodesReady: 1, nodesTotal: 1, token: 'x'}]})).toBe(false)
    expect(validate({clusters: [{label: 'a', status: 'ready', nodesReady: -1, nodesTotal: 1}]})).toBe(false)
  })
})

describe('what the commands print matches their schema: offline commands', () => {
  it('render hub and render edge: the List, and the --out-dir summary', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-schemas-'))
    const [hub, edge, written] = await Promise.all([
      runCli(['render', 'hub', '-f', EXAMPLE, '--json']),
      runCli(['render', 'edge', EDGE, '-f', EXAMPLE, '--hub-endpoint', '203.0.113.7', '--json']),
      runCli(['render', 'edge', EDGE, '-f', EXAMPLE, '-d', path.join(dir, 'edge'), '--json']),
    ])
    expect(expectDocument('render-hub', hub.stdout).kind).toBe('List')
    expect(expectDocument('render-edge', edge.stdout).kind).toBe('List')
    expect(expectDocument('render-edge', written.stdout).files).toContain('kustomization.yaml')
  })

  it('config validate and config schema', async () => {
    const [validate, schema] = await Promise.all([runCli(['config', 'validate', '-f', EXAMPLE, '--json']), runCli(['config', 'schema', '--json'])])
    expect(expectDocument('config-validate', validate.stdout)).toMatchObject({valid: true, hub: HUB, edges: [EDGE]})
    expect(expectDocument('config-schema', schema.stdout).$schema).toMatch(/json-schema\.org/)
  })

  it('the error document: bad usage, an unknown command, an invalid federation file with its issues', async () => {
    const invalid = path.join(REPO, 'test/fixtures/malformed')
    const file = readdirSync(invalid).find((f) => f.endsWith('.yaml'))!
    const runs = await Promise.all([
      runCli(['verify', '--clusterr', 'x', '--json']),
      runCli(['clustr', '--json']),
      runCli(['config', 'validate', '-f', path.join(invalid, file), '--json']),
      runCli(['render', 'hub', '-o', 'somedir', '--json']),
    ])
    for (const run of runs) {
      expect(run.code).toBe(2)
      expect(expectDocument('error', run.stdout).error.exitCode).toBe(2)
    }
    expect(JSON.parse(runs[2].stdout).error.issues.length).toBeGreaterThan(0)
  })
})

describe('what the commands print matches their schema: cluster commands on the fake Linode API', () => {
  const startCloud = cloudPerTest()

  const fedobs =
    (cloud: Cloud) =>
    async (args: string[], code = 0): Promise<string> => {
      const result = await cloud.run([...args, '--json'])
      expect(result.code, result.stderr).toBe(code)
      return result.stdout
    }

  it('cluster create (--dry-run and real), cluster list, cluster kubeconfig', {timeout: 240_000}, async () => {
    const run = fedobs(await startCloud())
    expect(expectDocument('cluster-create', await run(['cluster', 'create', '--all', '-f', EXAMPLE, '--dry-run'])).requests).toHaveLength(2)
    const before = expectDocument('cluster-list', await run(['cluster', 'list', '-f', EXAMPLE]))
    expect(before.clusters.map((c: {status: string}) => c.status)).toEqual(['not created', 'not created'])
    const created = expectDocument('cluster-create', await run(['cluster', 'create', '--all', '-f', EXAMPLE, '--timeout', '2h']))
    expect(created.clusters).toHaveLength(2)
    const listed = expectDocument('cluster-list', await run(['cluster', 'list', '-f', EXAMPLE]))
    expect(listed.clusters.every((c: {id?: number}) => typeof c.id === 'number')).toBe(true)
    expect(expectDocument('cluster-kubeconfig', await run(['cluster', 'kubeconfig', EDGE])).context).toBe(`fedobs-${EDGE}`)
    // A failure of a cluster command is the error document.
    expectDocument('error', await run(['cluster', 'kubeconfig', 'nosuch'], 2))
  })

  it('cluster delete and teardown (--dry-run and real)', {timeout: 240_000}, async () => {
    const run = fedobs(await startCloud())
    await run(['cluster', 'create', '--all', '-f', EXAMPLE, '--no-wait'])
    expect(expectDocument('cluster-delete', await run(['cluster', 'delete', EDGE, '--dry-run'])).plans).toHaveLength(1)
    expect(expectDocument('cluster-delete', await run(['cluster', 'delete', EDGE, '--yes'])).deleted).toHaveLength(1)
    expect(expectDocument('teardown', await run(['teardown', '-f', EXAMPLE, '--dry-run'])).plans).toHaveLength(2)
    expect(expectDocument('teardown', await run(['teardown', '-f', EXAMPLE, '--yes'])).deleted).toHaveLength(2)
  })
})
