import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {CLUSTER, client} from './http.js'
import {startFakeLinode, type FakeLinode} from './server.js'

const fakes: FakeLinode[] = []
async function start(options: Parameters<typeof startFakeLinode>[0]): Promise<FakeLinode> {
  const fake = await startFakeLinode(options)
  fakes.push(fake)
  return fake
}

afterEach(async () => {
  for (const fake of fakes.splice(0)) {
    expect(fake.state.violations).toEqual([])
    await fake.close()
  }
})

describe('the simulated timeline', () => {
  it('runs on the scaled clock: cluster ready, Linodes, kubeconfig, nodes ready, GPU nodes ready, in that order', async () => {
    const fake = await start({timeScale: 0.002, timeline: {kubeconfigReadySeconds: 60}})
    const api = client(fake)
    const started = performance.now()
    const {body: cluster} = await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})
    // When each event was first seen, as the clock read before that poll's calls: a poll can
    // straddle an event by the length of its calls (~1 simulated second here), hence the slack below.
    const seen: Record<string, number> = {}
    let now = 0
    const mark = (event: string, happened: boolean) => {
      if (happened && seen[event] === undefined) seen[event] = now
    }
    while (seen.gpuReady === undefined && performance.now() - started < 5000) {
      now = fake.now()
      const status = (await api.call('GET', `/v4beta/lke/clusters/${cluster.id}`)).body.status
      const pools = (await api.call('GET', `/v4beta/lke/clusters/${cluster.id}/pools`)).body.data
      const kubeconfig = await api.call('GET', `/v4beta/lke/clusters/${cluster.id}/kubeconfig`)
      expect(kubeconfig.status === 200 || kubeconfig.headers.get('retry-after') === '20').toBe(true)
      mark('clusterReady', status === 'ready')
      mark('instances', pools[0].nodes.every((n: {instance_id: number | null}) => n.instance_id !== null))
      mark('kubeconfig', kubeconfig.status === 200)
      mark('nodesReady', pools[0].nodes.every((n: {status: string}) => n.status === 'ready'))
      mark('gpuReady', pools[1].nodes[0].status === 'ready')
      await sleep(5)
    }
    const elapsed = performance.now() - started
    expect(Object.keys(seen)).toEqual(['clusterReady', 'instances', 'kubeconfig', 'nodesReady', 'gpuReady'])
    const slack = 5
    expect(seen.clusterReady).toBeGreaterThanOrEqual(30 - slack)
    expect(seen.instances).toBeGreaterThanOrEqual(40 - slack)
    expect(seen.kubeconfig).toBeGreaterThanOrEqual(60 - slack)
    expect(seen.nodesReady).toBeGreaterThanOrEqual(90 - slack)
    expect(seen.gpuReady).toBeGreaterThanOrEqual(150 - slack)
    expect(seen.gpuReady! - seen.nodesReady!).toBeGreaterThan(40)
    // 150 simulated seconds at 0.002 is 300 ms of real time.
    expect(elapsed).toBeGreaterThanOrEqual(300)
    expect(elapsed).toBeLessThan(5000)
    expect(api.problems).toEqual([])
  })

  it('takes timelines per fake, per cluster at create time, and changed later', async () => {
    const fake = await start({
      timeline: {clusterReadySeconds: 5},
      timelineFor: (input) => (input.label === 'slow' ? {clusterReadySeconds: 500, kubeconfigReadySeconds: 900} : undefined),
    })
    const fast = fake.addCluster({...CLUSTER, label: 'fast'})
    const slow = fake.addCluster({...CLUSTER, label: 'slow'})
    fake.advance(10)
    const status = () => new Map(fake.view().clusters.map((c) => [c.label, c.status]))
    expect(status()).toEqual(new Map([['fast', 'ready'], ['slow', 'not_ready']]))
    expect(fake.state.clusters.get(slow.id)!.timeline.kubeconfigReadySeconds).toBe(900)
    fake.setClusterTimeline(slow.id, {clusterReadySeconds: 0})
    expect(status().get('slow')).toBe('ready')
    expect(fake.state.clusters.get(fast.id)!.timeline.clusterReadySeconds).toBe(5)
  })

  it('draws kubeconfig delays from 60-255 s by default, the same for the same seed', async () => {
    const delays = async (seed: number) => {
      const fake = await start({seed})
      return Array.from({length: 5}, () => fake.state.clusters.get(fake.addCluster(CLUSTER).id)!.timeline.kubeconfigReadySeconds)
    }
    const first = await delays(7)
    expect(await delays(7)).toEqual(first)
    for (const delay of first) expect(delay >= 60 && delay <= 255).toBe(true)
    expect(new Set(first).size).toBeGreaterThan(1)
  })

  it('starts clusters in the past with addCluster({ageSeconds})', async () => {
    const fake = await start({})
    const cluster = fake.addCluster(CLUSTER, {ageSeconds: 3600})
    expect(cluster.status).toBe('ready')
    expect(Date.now() - Date.parse(`${cluster.created}Z`)).toBeGreaterThanOrEqual(3_599_000)
    expect(fake.state.nodes.length).toBe(4)
    expect(fake.state.nodes.every((n) => n.status === 'ready' && n.instance_id !== null)).toBe(true)
    expect(() => fake.addCluster({...CLUSTER, region: 'nowhere'})).toThrow(/region is not valid/)
  })

  it('hands out the kubeconfig of kubeconfigFor', async () => {
    const fake = await start({kubeconfigFor: async (cluster) => `# real apiserver for ${cluster.label}\napiVersion: v1\nkind: Config\n`})
    const {id} = fake.addCluster(CLUSTER, {ageSeconds: 1000})
    const answer = await client(fake).call('GET', `/v4/lke/clusters/${id}/kubeconfig`)
    expect(Buffer.from(answer.body.kubeconfig, 'base64').toString('utf8')).toBe(`# real apiserver for ${CLUSTER.label}\napiVersion: v1\nkind: Config\n`)
  })

  it('writes a default kubeconfig that points at the fake', async () => {
    const fake = await start({})
    const {id} = fake.addCluster(CLUSTER, {ageSeconds: 1000})
    const answer = await client(fake).call('GET', `/v4/lke/clusters/${id}/kubeconfig`)
    const config = parse(Buffer.from(answer.body.kubeconfig, 'base64').toString('utf8'))
    expect(config.contexts).toEqual([{name: `lke${id}-ctx`, context: {cluster: `lke${id}`, namespace: 'default', user: `lke${id}-admin`}}])
    expect(config.clusters[0].cluster.server).toBe(`https://127.0.0.1:${fake.port}`)
    expect(config.users[0].user.token).toBe(fake.state.clusters.get(id)!.kubeToken)
  })
})

describe('the standalone entry', () => {
  it('prints its URL and serves until SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--token', 'T', '--time-scale', '1'], {stdio: ['ignore', 'pipe', 'pipe']})
    try {
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = once(child, 'exit').then(() => {
        throw new Error(`main.ts exited early: ${stderr}`)
      })
      const [line] = (await Promise.race([once(child.stdout, 'data'), exited])) as [Buffer]
      const url = line.toString().trim()
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const answer = await fetch(`${url}/v4beta/lke/clusters`, {headers: {Authorization: 'Bearer T'}})
      expect(await answer.json()).toEqual({data: [], page: 1, pages: 1, results: 0})
      expect((await fetch(`${url}/v4beta/lke/clusters`, {headers: {Authorization: 'Bearer t'}})).status).toBe(401)
    } finally {
      child.kill('SIGTERM')
    }
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
  })
})
