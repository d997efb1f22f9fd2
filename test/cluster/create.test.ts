import {readFileSync, statSync, writeFileSync, mkdirSync, existsSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'

const EXAMPLE = 'examples/fedobs.yaml'
const startCloud = cloudPerTest()
let cloud: Cloud

/** Wait (real time, bounded generously for a loaded machine) until the fake has seen something. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function contexts(file: string): string[] {
  return (parse(readFileSync(file, 'utf8')).contexts as Array<{name: string}>).map((c) => c.name)
}

describe('fedobs cluster create', () => {
  it('creates every cluster of the federation concurrently, waits, and merges both kubeconfigs', async () => {
    // A manual clock: no cluster can become ready before the test advances it, so both POSTs
    // arriving first proves the creates overlap (one after the other would wait for the first).
    cloud = await startCloud({manualClock: true})
    const {done} = cloud.spawn(['cluster', 'create', '--all', '-f', EXAMPLE, '--json', '--timeout', '2h'])
    await waitUntil(() => cloud.posts() === 2, 'both create POSTs')
    expect(cloud.fake.view().clusters.every((c) => c.status === 'not_ready')).toBe(true)
    cloud.fake.advance(300)
    const result = await done
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc.failed).toEqual([])
    expect(doc.clusters.map((c: {name: string}) => c.name).sort()).toEqual(['fed-observability-remote', 'fed-observability-test'])
    for (const c of doc.clusters) {
      expect(c.reused).toBe(false)
      expect(c.status).toBe('ready')
      expect(c.context).toBe(`fedobs-${c.name}`)
      expect(c.lkeContext).toMatch(/^lke\d+-ctx$/)
      for (const pool of c.pools) expect(pool.ready).toBe(pool.count)
      expect(statSync(c.kubeconfigFile).mode & 0o777).toBe(0o600)
    }
    expect(cloud.posts()).toBe(2)
    expect(contexts(cloud.kubeconfig).sort()).toEqual(expect.arrayContaining(['fedobs-fed-observability-remote', 'fedobs-fed-observability-test']))
    expect(statSync(cloud.kubeconfig).mode & 0o777).toBe(0o600)
  })

  it('tags clusters fedobs, the federation, the role and the name, and sends the payload the spec accepts', async () => {
    cloud = await startCloud()
    expect((await cloud.run(['cluster', 'create', 'fed-observability-remote', '-f', EXAMPLE, '--no-wait'])).code).toBe(0)
    const [cluster] = [...cloud.fake.state.clusters.values()]
    expect(cluster!.tags).toEqual(expect.arrayContaining(['fedobs', 'fedobs-federation:fed-observability', 'fedobs-role:edge', 'fedobs-cluster:fed-observability-remote', 'remote']))
    const pools = [...cloud.fake.state.pools.values()].filter((p) => p.clusterId === cluster!.id)
    expect(pools.map((p) => [p.type, p.count, p.autoscaler])).toEqual([
      ['g6-standard-2', 2, {enabled: true, min: 2, max: 4}],
      ['g2-gpu-rtx4000a1-s', 1, {enabled: true, min: 1, max: 2}],
    ])
  })

  it('is idempotent: a second run reuses the cluster, no second POST', async () => {
    cloud = await startCloud()
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])).code).toBe(0)
    const again = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--json'])
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).clusters[0].reused).toBe(true)
    expect(cloud.posts()).toBe(1)
    expect(cloud.fake.state.clusters.size).toBe(1)
  })

  it('a 500 on the create POST after the API accepted it still gives exactly one cluster', async () => {
    cloud = await startCloud()
    cloud.fake.injectFaults([{match: {method: 'POST', pathPattern: '/lke/clusters'}, status: 500, afterCommit: true}])
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('the create request failed, but the cluster exists')
    expect(cloud.fake.state.clusters.size).toBe(1)
    expect(cloud.posts()).toBe(1)
  })

  it('a connection reset on the create POST before it landed: retried, one cluster', async () => {
    cloud = await startCloud()
    cloud.fake.injectFaults([{match: {method: 'POST', pathPattern: '/lke/clusters'}, resetConnection: true}])
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--no-wait'])
    expect(result.code, result.stderr).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(1)
  })

  it('survives a 429 storm and connection resets, honouring Retry-After', async () => {
    cloud = await startCloud()
    cloud.fake.injectFaults([
      {match: {method: 'GET', pathPattern: '/lke/clusters'}, times: 6, status: 429, headers: {'Retry-After': '5'}},
      {match: {method: 'GET', pathPattern: '/regions'}, times: 2, resetConnection: true},
      {match: {method: 'GET', pathPattern: '/lke/clusters/{id}/pools'}, times: 3, status: 503},
    ])
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(result.code, result.stderr).toBe(0)
    expect(cloud.fake.pendingFaults()).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(1)
    const limited = cloud.fake.state.requests.filter((r) => r.status === 429)
    expect(limited.length).toBeGreaterThanOrEqual(6)
    // Retry-After 5 s is clamped up to 3..30 s and honoured: the retries are spread in simulated time.
    const times = cloud.fake.state.requests.filter((r) => r.method === 'GET' && /\/lke\/clusters$/.test(r.path)).map((r) => r.simSeconds)
    for (let i = 1; i < Math.min(times.length, 7); i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(3)
  })

  it('waits out a long kubeconfig 503 (20 simulated minutes)', async () => {
    cloud = await startCloud({timeline: {kubeconfigReadySeconds: 1200}})
    // Both clocks run on real time here (a real CLI sleeps for real); --timeout 2h leaves 6000
    // simulated seconds (12 real seconds) of margin for a busy machine.
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--timeout', '2h'])
    expect(result.code, result.stderr).toBe(0)
    expect(contexts(cloud.kubeconfig)).toContain('fedobs-fed-observability-test')
    const polls = cloud.fake.state.requests.filter((r) => r.path.endsWith('/kubeconfig'))
    expect(polls.filter((p) => p.status === 503).length).toBeGreaterThan(20)
    expect(polls.at(-1)!.status).toBe(200)
  })

  it('times out with exit 1 and a next step, then a re-run converges', async () => {
    // The cloud's clock stands still until the test moves it: the first run cannot win a race with it.
    // Everything but the kubeconfig is ready at once, so the kubeconfig is what it times out on.
    const instant = {clusterReadySeconds: 0, nodeInstanceSeconds: 0, nodeReadySeconds: 0, gpuNodeInstanceSeconds: 0, gpuNodeReadySeconds: 0}
    cloud = await startCloud({manualClock: true, timeline: {...instant, kubeconfigReadySeconds: 900}})
    const first = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--timeout', '5m'])
    expect(first.code).toBe(1)
    expect(first.stderr).toContain('timed out after')
    expect(first.stderr).toContain('fedobs cluster kubeconfig fed-observability-test')
    cloud.fake.advance(900)
    const second = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(second.code, second.stderr).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(1)
  })

  it('SIGINT while waiting exits 130; a re-run converges to one cluster', async () => {
    // A manual clock: the cluster cannot become ready, so the CLI is still waiting whenever the signal lands.
    cloud = await startCloud({manualClock: true, timeline: {kubeconfigReadySeconds: 600}})
    const {child, done} = cloud.spawn(['cluster', 'create', 'hub', '-f', EXAMPLE, '--timeout', '2h'])
    await waitUntil(() => cloud.fake.state.clusters.size === 1, 'the create to land')
    child.kill('SIGINT')
    const interrupted = await done
    expect(interrupted.code).toBe(130)
    expect(cloud.fake.state.clusters.size).toBe(1)
    cloud.fake.advance(600)
    const rerun = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--json'])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(JSON.parse(rerun.stdout).clusters[0].reused).toBe(true)
    expect(cloud.posts()).toBe(1)
  })

  it('refuses a wrong region, version and plan with exit 2, valid values and suggestions, creating nothing', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'create', 'edge-x', '--region', 'us-ordd', '--k8s-version', '1.99', '--pool', 'g6-standrd-4:3'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--region: edges[0].region: region "us-ordd" is not a Linode region')
    expect(result.stderr).toContain('did you mean: us-ord')
    expect(result.stderr).toContain('Kubernetes version "1.99" is not offered by LKE')
    expect(result.stderr).toMatch(/valid values: .*1\.33/)
    expect(result.stderr).toContain('did you mean: g6-standard-4')
    expect(cloud.posts()).toBe(0)
  })

  it('points a bad region in the file at its file:line', async () => {
    cloud = await startCloud()
    const dir = path.join(cloud.home, 'fed')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'fedobs.yaml'), 'apiVersion: fedobs/v1\nname: f\nhub:\n  name: h1\n  region: xx-nowhere\n  pools: [{type: g6-standard-4, count: 1}]\n')
    const result = await cloud.run(['cluster', 'create', 'hub'], {cwd: dir})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('fedobs.yaml:5:11: hub.region: region "xx-nowhere" is not a Linode region')
  })

  it('--dry-run prints the exact payloads and creates nothing', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'create', '--all', '-f', EXAMPLE, '--dry-run', '--json'])
    expect(result.code).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc.requests).toHaveLength(2)
    expect(doc.requests[0].request).toMatchObject({method: 'POST', path: '/v4beta/lke/clusters', body: {label: 'fed-observability-test', region: 'us-ord', k8s_version: '1.33'}})
    expect(cloud.posts()).toBe(0)
  })

  it('refuses a malformed kubeconfig clearly and leaves it untouched', async () => {
    cloud = await startCloud()
    mkdirSync(path.dirname(cloud.kubeconfig), {recursive: true})
    writeFileSync(cloud.kubeconfig, 'clusters:\n  - name: a\n   bad: indent\n')
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${cloud.kubeconfig}:`)
    expect(result.stderr).toContain('not a valid kubeconfig')
    expect(readFileSync(cloud.kubeconfig, 'utf8')).toBe('clusters:\n  - name: a\n   bad: indent\n')
  })

  it('switches current-context only with --set-context', async () => {
    cloud = await startCloud()
    mkdirSync(path.dirname(cloud.kubeconfig), {recursive: true})
    writeFileSync(cloud.kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: [{name: mine, context: {cluster: x, user: y}}]\ncurrent-context: mine\n')
    await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(parse(readFileSync(cloud.kubeconfig, 'utf8'))['current-context']).toBe('mine')
    expect(existsSync(`${cloud.kubeconfig}.fedobs-backup`)).toBe(true)
    await cloud.run(['cluster', 'kubeconfig', 'fed-observability-test', '--set-context'])
    expect(parse(readFileSync(cloud.kubeconfig, 'utf8'))['current-context']).toBe('fedobs-fed-observability-test')
  })

  it('never prints the token, even with --verbose', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--verbose'])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('debug: GET /lke/clusters')
    expect(result.stderr).toContain('Linode token from LINODE_TOKEN')
  })

  it('exits 2 without a token, saying where to put one', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE], {env: {LINODE_TOKEN: undefined}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('no Linode API token')
  })
})
