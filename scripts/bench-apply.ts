// Apply benchmark on the test bed (measure and print; not a test): fedobs against kubectl, paired.
//   npm run bench:apply                    (needs `npm run build` and `npm run testbed:build`)
//   BENCH_RUNS=8 BENCH_EDGES=2 npm run bench:apply
//
// 1. `fedobs deploy edge NAME --no-wait` with every object unchanged, against
//    `kubectl apply --server-side -k DIR` of the same edge rendered into DIR: same objects, same
//    cluster, same field manager (so neither run changes anything the other applied).
// 2. `fedobs deploy all --no-wait` against one `kubectl apply --server-side -k` per cluster (the
//    same rendered directories), all started at once.
// Runs alternate which tool goes first (ABBA), after one warm-up of each (not counted); medians of
// BENCH_RUNS (default 8). Each run is measured by /usr/bin/time: wall, user+system CPU, peak RSS.
// The kubectl column of the concurrent row sums its processes' CPU and peak RSS (they run at once).
// Every fedobs run must report all its objects unchanged: if kubectl's directory differed from what
// fedobs applies, one of them would change the objects back and forth, and the benchmark stops.
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {loadFederation} from '../src/federation/load.js'
import {renderEdge, renderHub, FIELD_MANAGER} from '../src/render/render.js'
import {writeKustomizeDirectory} from '../src/render/write.js'
import {startCloud} from '../test/helpers/cloud.js'
import {testbedBinaries} from '../test/helpers/testbed.js'
import {createLinodeBridge} from '../src/sandbox/testbed/bridge.js'
import {startTestbed} from '../src/sandbox/testbed/testbed.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const RUNS = Number(process.env.BENCH_RUNS ?? 8)
const EDGES = Number(process.env.BENCH_EDGES ?? 2)

const kubectl = process.env.FEDOBS_KUBECTL ?? testbedBinaries().FEDOBS_KUBECTL
if (!kubectl || !existsSync(kubectl)) throw new Error('no kubectl: run `bash scripts/testbed/build-k8s.sh kubectl` (or npm run testbed:build), or set FEDOBS_KUBECTL')
if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time (GNU time) is needed to measure CPU time and peak memory')
if (!existsSync(path.join(root, 'dist', 'commands'))) throw new Error('run `npm run build` first')

const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-apply-'))
const federationFile = path.join(dir, 'fedobs.yaml')
const pools = '  pools:\n    - {type: g6-standard-2, count: 2}\n    - {type: g2-gpu-rtx4000a1-s, count: 1}\n'
writeFileSync(
  federationFile,
  `apiVersion: fedobs/v1\nname: bench\nhub:\n  name: bench-hub\n  region: us-ord\n${pools}edges:\n${Array.from({length: EDGES}, (_, i) => `  - name: edge-${i + 1}\n    region: us-ord\n${pools.replace(/^/gm, '  ').trimEnd()}\n`).join('')}`,
)

interface Measured {
  wallS: number
  cpuS: number
  peakMiB: number
  stdout: string
}

/** Run a command under /usr/bin/time: wall (this process's clock), user+system CPU, peak RSS. */
function measured(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const timeFile = path.join(dir, `time-${process.hrtime.bigint()}-${Math.random().toString(36).slice(2)}`)
  const start = performance.now()
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], {env, maxBuffer: 64 << 20}, (error, stdout, stderr) => {
      const wallS = (performance.now() - start) / 1000
      if (error) return reject(new Error(`${path.basename(command)} ${args.join(' ')}: exit ${error.code}\n${stderr.slice(-4000)}`))
      const [, user, system, rssKiB] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
      rmSync(timeFile)
      resolve({wallS, cpuS: user! + system!, peakMiB: rssKiB! / 1024, stdout})
    }),
  )
}

/** Several commands started at once: wall until the last ends, CPU and peak RSS summed. */
async function concurrently(runs: Array<() => Promise<Measured>>): Promise<Measured> {
  const start = performance.now()
  const all = await Promise.all(runs.map((run) => run()))
  return {wallS: (performance.now() - start) / 1000, cpuS: sum(all.map((m) => m.cpuS)), peakMiB: sum(all.map((m) => m.peakMiB)), stdout: ''}
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const testbed = await startTestbed()
const bridge = createLinodeBridge(testbed, {intervalMs: 1000, controllerIntervalMs: 1000})
const cloud = await startCloud({kubeconfigFor: bridge.kubeconfigFor, timeScale: 0.02})
bridge.connect(cloud.fake)
const env = {...process.env, ...cloud.env, NO_COLOR: '1'}

const fedobs = (args: string[]): Promise<Measured> => measured(process.execPath, [`${root}bin/run.js`, ...args, '-f', federationFile, '--json'], env)
const kubectlApply = (cluster: string, directory: string): Promise<Measured> =>
  measured(kubectl, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-k', directory, '--kubeconfig', cloud.kubeconfig, '--context', `fedobs-${cluster}`], env)

/** The unchanged objects of one deploy result; throws when any object changed. */
function unchanged(result: {cluster: string; applied: unknown[]; counts: {created: number; configured: number; unchanged: number}}): number {
  const {counts} = result
  if (counts.unchanged !== result.applied.length) {
    throw new Error(`${result.cluster}: ${counts.created} created, ${counts.configured} changed of ${result.applied.length}: fedobs and kubectl do not apply the same objects`)
  }
  return result.applied.length
}

interface Pair {
  fedobs: Measured[]
  kubectl: Measured[]
  objects: number
}

/** Warm-up of each, then RUNS pairs in ABBA order. */
async function paired(a: () => Promise<Measured>, b: () => Promise<Measured>, objectsOf: (m: Measured) => number): Promise<Pair> {
  objectsOf(await a())
  await b()
  const pair: Pair = {fedobs: [], kubectl: [], objects: 0}
  for (let i = 0; i < RUNS; i++) {
    const order = i % 4 === 0 || i % 4 === 3 ? ['a', 'b'] : ['b', 'a']
    for (const which of order) {
      if (which === 'a') {
        const m = await a()
        pair.objects = objectsOf(m)
        pair.fedobs.push(m)
      } else pair.kubectl.push(await b())
    }
  }
  return pair
}

function report(title: string, pair: Pair, kubectlNote = ''): void {
  const f = {wall: median(pair.fedobs.map((m) => m.wallS)), cpu: median(pair.fedobs.map((m) => m.cpuS)), peak: median(pair.fedobs.map((m) => m.peakMiB))}
  const k = {wall: median(pair.kubectl.map((m) => m.wallS)), cpu: median(pair.kubectl.map((m) => m.cpuS)), peak: median(pair.kubectl.map((m) => m.peakMiB))}
  const row = (name: string, m: typeof f): string => `  ${name.padEnd(44)} ${m.wall.toFixed(2).padStart(6)} s  ${m.cpu.toFixed(2).padStart(6)} CPU-s  ${m.peak.toFixed(0).padStart(5)} MiB`
  console.log(`${title} (${pair.objects} objects, medians of ${pair.fedobs.length} paired runs)`)
  console.log(row('fedobs', f))
  console.log(row(`kubectl apply --server-side -k${kubectlNote}`, k))
  console.log(
    `  ratio fedobs/kubectl: wall ${(f.wall / k.wall).toFixed(2)}, CPU ${(f.cpu / k.cpu).toFixed(2)}, peak ${(f.peak / k.peak).toFixed(2)}; fedobs ${((f.cpu / pair.objects) * 1000).toFixed(1)} CPU-ms per object`,
  )
}

try {
  const created = await fedobs(['cluster', 'create', '--all', '--timeout', '2h'])
  console.error(`created ${JSON.parse(created.stdout).clusters.length} clusters in ${created.wallS.toFixed(1)} s`)
  // The first deploy creates everything (edges left unconnected: an edge's objects are then exactly
  // what `render edge` writes, and the hub's are what `render hub` writes with no edge recorded).
  await fedobs(['deploy', 'all', '--no-wait'])

  const federation = loadFederation({file: federationFile})
  const dirs = new Map<string, string>()
  dirs.set(federation.hub.name, writeKustomizeDirectory(path.join(dir, federation.hub.name), renderHub(federation)).directory)
  for (const edge of federation.edges) dirs.set(edge.name, writeKustomizeDirectory(path.join(dir, edge.name), renderEdge(federation, edge.name)).directory)

  const edge = federation.edges[0]!.name
  const single = await paired(
    () => fedobs(['deploy', 'edge', edge, '--no-wait']),
    () => kubectlApply(edge, dirs.get(edge)!),
    (m) => unchanged(JSON.parse(m.stdout)),
  )
  const all = await paired(
    () => fedobs(['deploy', 'all', '--no-wait']),
    () =>
      concurrently(
        [...dirs].map(
          ([cluster, directory]) =>
            () =>
              kubectlApply(cluster, directory),
        ),
      ),
    (m) => sum((JSON.parse(m.stdout).clusters as Array<Parameters<typeof unchanged>[0]>).map(unchanged)),
  )

  console.log(`fedobs apply benchmark (test bed: ${testbed.clusters.size} real API servers; kubectl ${path.basename(path.dirname(path.dirname(kubectl)))}; ${new Date().toISOString()})`)
  report(`deploy edge ${edge} --no-wait, unchanged`, single)
  report(`deploy all --no-wait (1 hub + ${EDGES} edges), unchanged`, all, ` x${dirs.size} at once`)
  console.log('  (kubectl x N: CPU and peak RSS summed over its processes; wall until the last one ends)')
} finally {
  await bridge.stop()
  await cloud.close()
  await testbed.stop()
  rmSync(dir, {recursive: true, force: true})
}
