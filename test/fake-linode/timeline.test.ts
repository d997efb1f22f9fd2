import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {CLUSTER, client} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type FakeLinode} from '../../src/sandbox/linode/server.js'

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
  it('on a manual clock: cluster ready, Linodes, kubeconfig, nodes ready, GPU nodes ready, each at its simulated second', async () => {
    const fake = await start({manualClock: true, timeline: {kubeconfigReadySeconds: 60}})
    const api = client(fake)
    const {body: cluster} = await api.call('POST', '/v4beta/lke/clusters', {body: CLUSTER})
    // The clock moves only when the test advances it, so each poll sees exactly one instant.
    const seen: Record<string, number> = {}
    const mark = (event: string, happened: boolean) => {
      if (happened && seen[event] === undefined) seen[event] = fake.now()
    }
    for (let second = 0; second <= 160; second++) {
      expect(fake.now()).toBe(second)
      const status = (await api.call('GET', `/v4beta/lke/clusters/${cluster.id}`)).body.status
      const pools = (await api.call('GET', `/v4beta/lke/clusters/${cluster.id}/pools`)).body.data
      const kubeconfig = await api.call('GET', `/v4beta/lke/clusters/${cluster.id}/kubeconfig`)
      expect(kubeconfig.status === 200 || kubeconfig.headers.get('retry-after') === '20').toBe(true)
      mark('clusterReady', status === 'ready')
      mark(
        'instances',
        pools[0].nodes.every((n: {instance_id: number | null}) => n.instance_id !== null),
      )
      mark('kubeconfig', kubeconfig.status === 200)
      mark(
        'nodesReady',
        pools[0].nodes.every((n: {status: string}) => n.status === 'ready'),
      )
      mark('gpuInstance', pools[1].nodes[0].instance_id !== null)
      mark('gpuReady', pools[1].nodes[0].status === 'ready')
      fake.advance(1)
    }
    expect(seen).toEqual({clusterReady: 30, instances: 40, kubeconfig: 60, gpuInstance: 60, nodesReady: 90, gpuReady: 150})
    expect(api.problems).toEqual([])
  })

  it('runs the scaled clock at 1 / timeScale simulated seconds per real second, plus what advance() adds', async () => {
    const fake = await start({timeScale: 0.002})
    // Bounds from real readings taken around each clock reading: true however busy the machine is.
    const before0 = performance.now()
    const first = fake.now()
    const after0 = performance.now()
    await sleep(20)
    fake.advance(1000)
    const before1 = performance.now()
    const second = fake.now()
    const after1 = performance.now()
    const simulated = (realMs: number) => realMs / 1000 / 0.002
    expect(second - first - 1000).toBeGreaterThanOrEqual(simulated(before1 - after0))
    expect(second - first - 1000).toBeLessThanOrEqual(simulated(after1 - before0))
    expect(simulated(before1 - after0)).toBeGreaterThanOrEqual(simulated(19))
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
    expect(status()).toEqual(
      new Map([
        ['fast', 'ready'],
        ['slow', 'not_ready'],
      ]),
    )
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
