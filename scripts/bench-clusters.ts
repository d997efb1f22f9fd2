// Cluster-provisioning benchmark against the fake Linode API (measure and print; not a test).
//   npm run bench:clusters
// Over a simulated 4-minute provisioning (kubeconfig available at 240 s, GPU nodes at 150 s):
//   - Linode API calls per `cluster create` (target <= 40)
//   - the CLI's time beyond the provisioning itself (target <= 5%): how late it notices
//     (simulated seconds) plus its own real time (start-up and work, unscaled)
//   - `cluster create --all` for 1 hub + 10 edges vs 1 cluster (target ratio <= 1.3)
import {execFile} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {startFakeLinode} from '../src/sandbox/linode/server.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const SCALE = 0.01
const PROVISIONING = 240
const runs = Number(process.env.BENCH_RUNS ?? 3)

function federationFile(edges: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-'))
  const pools = '    pools:\n      - {type: g6-standard-4, count: 3}\n      - {type: g2-gpu-rtx4000a1-s, count: 1}\n'
  const list = Array.from({length: edges}, (_, i) => `  - name: edge-${i + 1}\n    region: us-ord\n${pools}`).join('')
  writeFileSync(path.join(dir, 'fedobs.yaml'), `apiVersion: fedobs/v1\nname: bench\nhub:\n  name: bench-hub\n  region: us-ord\n${pools.replace(/^ {2}/gm, '')}${edges > 0 ? `edges:\n${list}` : ''}`)
  return dir
}

interface Measurement {
  /** Simulated seconds from the create request to the CLI's last request. */
  simSeconds: number
  /** How long after the provisioning finished the CLI noticed (simulated seconds). */
  lateSeconds: number
  /** Real seconds the CLI spent on its own: before its first request and after its last. */
  ownSeconds: number
  calls: number
  clusters: number
}

async function measure(edges: number): Promise<Measurement> {
  const fake = await startFakeLinode({timeScale: SCALE, token: 'bench-token', timeline: {kubeconfigReadySeconds: PROVISIONING}, rateLimit: null})
  const dir = federationFile(edges)
  const env = {...process.env, LINODE_URL: fake.url, LINODE_TOKEN: fake.token, FEDOBS_TIME_SCALE: String(SCALE), KUBECONFIG: path.join(dir, 'kubeconfig'), CI: 'true'}
  const start = Date.now()
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [`${root}bin/run.js`, 'cluster', 'create', edges > 0 ? '--all' : 'hub', '-f', path.join(dir, 'fedobs.yaml')], {env, cwd: dir}, (error, _out, err) =>
      error ? reject(new Error(err)) : resolve(),
    ),
  )
  const end = Date.now()
  const requests = fake.state.requests
  const firstPost = requests.find((r) => r.method === 'POST')!
  const last = requests.at(-1)!
  const calls = requests.length
  const clusters = fake.state.clusters.size
  await fake.close()
  return {
    simSeconds: last.simSeconds - firstPost.simSeconds,
    lateSeconds: last.simSeconds - firstPost.simSeconds - PROVISIONING,
    ownSeconds: (requests[0]!.time - start + (end - last.time)) / 1000,
    calls,
    clusters,
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const single = [] as Awaited<ReturnType<typeof measure>>[]
for (let i = 0; i < runs; i++) single.push(await measure(0))
const all = [] as Awaited<ReturnType<typeof measure>>[]
for (let i = 0; i < runs; i++) all.push(await measure(10))

const one = median(single.map((r) => r.simSeconds))
const late = median(single.map((r) => r.lateSeconds))
const own = median(single.map((r) => r.ownSeconds))
const overhead = ((late + own) / PROVISIONING) * 100
const calls = median(single.map((r) => r.calls))
const callsAll = median(all.map((r) => r.calls)) / 11
const ratio = median(all.map((r) => r.simSeconds)) / one

console.log(`fedobs cluster benchmarks (fake Linode API, time scale ${SCALE}, median of ${runs}, ${new Date().toISOString()})`)
console.log(`simulated provisioning                      ${PROVISIONING} s (kubeconfig at 240 s, GPU nodes at 150 s)`)
console.log(`cluster create (1 cluster): done at         ${one.toFixed(1)} s simulated`)
console.log(`  noticed late by                           ${late.toFixed(1)} s simulated`)
console.log(`  CLI's own time (start-up, work)           ${own.toFixed(2)} s real`)
console.log(`  time beyond provisioning                  ${overhead.toFixed(1)} %   (target <= 5%)`)
console.log(`  Linode API calls                          ${calls}   (target <= 40)`)
console.log(`cluster create --all (1 hub + 10 edges)     ${median(all.map((r) => r.simSeconds)).toFixed(1)} s simulated, ${callsAll.toFixed(1)} API calls per cluster`)
console.log(`  ratio to 1 cluster                        ${ratio.toFixed(2)}   (target <= 1.3)`)
console.log(overhead <= 5 && calls <= 40 && ratio <= 1.3 ? 'targets met' : 'TARGETS MISSED')
