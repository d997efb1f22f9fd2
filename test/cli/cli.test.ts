import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {runCli} from '../helpers/cli.js'

const EXAMPLE = 'examples/fedobs.yaml'

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fedobs-cli-'))
}

describe('fedobs as a user runs it', () => {
  it('--version prints the version on stdout', async () => {
    const result = await runCli(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^fedobs\/\d+\.\d+\.\d+ /)
  })

  it('--help lists the topics', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('render')
    expect(result.stdout).toContain('config')
  })

  it('render hub prints only YAML on stdout; stderr says what a person must know (firewall, Secrets)', async () => {
    const result = await runCli(['render', 'hub', '-f', EXAMPLE])
    expect(result.code).toBe(0)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toEqual([
      expect.stringMatching(/^warning: the gateway firewall does not let in fed-observability-remote yet .*until then it admits nobody$/),
      expect.stringMatching(/^note: these workloads mount Secrets .*monitoring\/grafana-admin.*observability-hub\/otel-gateway-tls.*`fedobs deploy hub` create/),
    ])
    const docs = parseAllDocuments(result.stdout) as Array<{toJS(): {kind: string}}>
    expect(docs.length).toBeGreaterThan(40)
    expect(docs[0]!.toJS().kind).toBe('Namespace')
  })

  it('render hub --json prints one Kubernetes List', async () => {
    const result = await runCli(['render', 'hub', '-f', EXAMPLE, '--json'])
    expect(result.code).toBe(0)
    const list = JSON.parse(result.stdout) as {apiVersion: string; kind: string; items: Array<{kind: string}>}
    expect(list.apiVersion).toBe('v1')
    expect(list.kind).toBe('List')
    expect(list.items.some((i) => i.kind === 'StatefulSet')).toBe(true)
  })

  it('render edge warns on stderr when the edge is not connected, keeping stdout clean', async () => {
    const result = await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('rendered unconnected')
    expect(result.stdout.startsWith('---\n')).toBe(true)
  })

  it('render edge --out-dir (-d) writes a kustomize directory listing every file', async () => {
    const dir = path.join(tempDir(), 'edge')
    const result = await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE, '--hub-endpoint', '203.0.113.7', '-d', dir])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe(dir)
    const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))
    expect(kustomization.kind).toBe('Kustomization')
    expect(kustomization.resources).toEqual(expect.arrayContaining(['namespaces.yaml', 'otel-agent.yaml', 'otel-scraper.yaml', 'kube-state-metrics.yaml']))
    for (const file of kustomization.resources as string[]) expect(existsSync(path.join(dir, file)), file).toBe(true)
    const agentDocs = (parseAllDocuments(readFileSync(path.join(dir, 'otel-agent.yaml'), 'utf8')) as Array<{toJS(): any}>).map((d) => d.toJS())
    const agentConfig = parse(agentDocs.find((d) => d.kind === 'ConfigMap').data['config.yaml'])
    expect(agentConfig.exporters['otlp_grpc/gateway'].endpoint).toBe('203.0.113.7:4317')
  })

  it('render edge --hub-endpoint takes a bare IPv6 address and ships to [it]:4317', async () => {
    const result = await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE, '--hub-endpoint', '2001:db8::1', '--json'])
    expect(result.code).toBe(0)
    const list = JSON.parse(result.stdout) as {items: Array<{kind: string; metadata: {name: string}; data?: Record<string, string>}>}
    const agentConfig = parse(list.items.find((i) => i.kind === 'ConfigMap' && i.metadata.name === 'otel-agent-config')!.data!['config.yaml']!)
    expect(agentConfig.exporters['otlp_grpc/gateway'].endpoint).toBe('[2001:db8::1]:4317')
  })

  it('re-rendering removes files fedobs no longer renders, and only those', async () => {
    const dir = path.join(tempDir(), 'edge')
    await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE, '-d', dir])
    writeFileSync(path.join(dir, 'mine.yaml'), 'kind: Mine\n')
    expect(existsSync(path.join(dir, 'dcgm-exporter.yaml'))).toBe(true)
    const result = await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE, '--no-gpu', '-d', dir, '--json'])
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as {removed: string[]}
    expect(summary.removed.sort()).toEqual(['bert-inference.yaml', 'dcgm-exporter.yaml', 'nvidia-device-plugin.yaml'])
    expect(existsSync(path.join(dir, 'mine.yaml'))).toBe(true)
  })

  // kubectl (with kustomize) is on CI machines; a laptop without it skips this one check.
  const hasKubectl = spawnSync('kubectl', ['version', '--client'], {encoding: 'utf8'}).status === 0
  if (!hasKubectl && process.env.CI) throw new Error('kubectl is required under CI for the kustomize check')

  it.skipIf(!hasKubectl)('the rendered directory builds with kustomize (kubectl kustomize)', async () => {
    const dir = path.join(tempDir(), 'hub')
    expect((await runCli(['render', 'hub', '-f', EXAMPLE, '-d', dir])).code).toBe(0)
    const built = spawnSync('kubectl', ['kustomize', dir], {encoding: 'utf8'})
    expect(built.stderr).toBe('')
    expect(built.status).toBe(0)
    const direct = await runCli(['render', 'hub', '-f', EXAMPLE, '--json'])
    const kinds = (parseAllDocuments(built.stdout) as Array<{toJS(): {kind: string}}>).map((d) => d.toJS().kind).sort()
    expect(kinds).toEqual((JSON.parse(direct.stdout).items as Array<{kind: string}>).map((i) => i.kind).sort())
  })

  it('an unknown edge is a usage error (exit 2) with a suggestion', async () => {
    const result = await runCli(['render', 'edge', 'fed-observability-remot', '-f', EXAMPLE])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('no edge named "fed-observability-remot"')
    expect(result.stderr).toContain('did you mean: fed-observability-remote')
  })

  it('an unknown flag is a usage error (exit 2), in JSON under --json', async () => {
    const result = await runCli(['render', 'hub', '--frobnicate', '--json'])
    expect(result.code).toBe(2)
    const {error} = JSON.parse(result.stdout) as {error: {exitCode: number; code: string}}
    expect(error).toMatchObject({exitCode: 2, code: 'usage'})
  })

  it('a bad flag value names the flag (exit 2)', async () => {
    const result = await runCli(['render', 'edge', 'e1', '--hub-endpoint', 'bad host:99999'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--hub-endpoint')
    expect(result.stderr).toContain('telemetry.gateway.endpoint')
  })

  it('a missing file is a usage error (exit 2)', async () => {
    const result = await runCli(['render', 'hub', '-f', 'nope.yaml'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('federation file not found: nope.yaml')
  })

  it('works from flags alone in a directory without fedobs.yaml', async () => {
    const cwd = tempDir()
    const result = await runCli(['render', 'edge', 'edge-1', '--pool', 'g2-gpu-rtx4000a1-s:1', '--hub-endpoint', 'otel.example.com:4317', '--json'], {cwd})
    expect(result.code).toBe(0)
    const list = JSON.parse(result.stdout) as {items: Array<{kind: string; metadata: {name: string; labels: Record<string, string>}}>}
    expect(list.items.some((i) => i.metadata.name === 'dcgm-exporter')).toBe(true)
    expect(list.items.every((i) => i.metadata.labels['fedobs.io/cluster'] === 'edge-1')).toBe(true)
  })

  it('config validate succeeds on the example, with a JSON summary', async () => {
    const result = await runCli(['config', 'validate', '-f', EXAMPLE, '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({valid: true, federation: 'fed-observability', edges: ['fed-observability-remote']})
  })

  it('config schema prints the JSON Schema', async () => {
    const result = await runCli(['config', 'schema'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).title).toBe('fedobs federation file')
  })

  it('never colours output when NO_COLOR is set', async () => {
    const result = await runCli(['render', 'edge', 'x', '--pool', 'g6-standard-2:1'], {env: {NO_COLOR: '1', FORCE_COLOR: '1'}})
    // eslint-disable-next-line no-control-regex -- the test looks for the ANSI escape character on purpose
    expect(result.stderr).not.toMatch(/\u001B\[/)
  })
})
