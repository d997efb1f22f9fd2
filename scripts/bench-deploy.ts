// Deploy benchmark on the test bed (measure and print; not a test). Needs `npm run testbed:build`.
//   npm run bench:deploy
// - `deploy hub`: objects applied, fedobs's own time (apply, prune) vs waiting for the cluster
// - 1 hub + 10 edges deployed concurrently (11 processes) vs one edge alone (target ratio <= 1.5)
import {execFile} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {startCloud} from '../test/helpers/cloud.js'
import {createLinodeBridge} from '../src/sandbox/testbed/bridge.js'
import {startTestbed} from '../src/sandbox/testbed/testbed.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const EDGES = Number(process.env.BENCH_EDGES ?? 10)

const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-deploy-'))
const federation = path.join(dir, 'fedobs.yaml')
const pools = '  pools:\n    - {type: g6-standard-2, count: 2}\n    - {type: g2-gpu-rtx4000a1-s, count: 1}\n'
writeFileSync(
  federation,
  `apiVersion: fedobs/v1\nname: bench\nhub:\n  name: bench-hub\n  region: us-ord\n${pools}edges:\n${Array.from({length: EDGES}, (_, i) => `  - name: edge-${i + 1}\n    region: us-ord\n${pools.replace(/^/gm, '  ').trimEnd()}\n`).join('')}inference: {enabled: true, image: "registry.example.com/bert:1"}\n`,
)

const testbed = await startTestbed()
// Stand-ins reconcile every second: 11 clusters polled every 250 ms would take a core by themselves.
const bridge = createLinodeBridge(testbed, {intervalMs: 1000, controllerIntervalMs: 1000})
const cloud = await startCloud({kubeconfigFor: bridge.kubeconfigFor, timeScale: 0.02})
bridge.connect(cloud.fake)

/** Run the CLI; wall time, and its own CPU time (user + system, via /usr/bin/time). */
function fedobs(args: string[]): Promise<{ms: number; cpuMs: number; json: any}> {
  const start = performance.now()
  return new Promise((resolve, reject) =>
    execFile(
      '/usr/bin/time',
      ['-f', 'cpu %U %S', process.execPath, `${root}bin/run.js`, ...args, '-f', federation, '--json'],
      {env: {...process.env, ...cloud.env}, maxBuffer: 64 << 20},
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${args.join(' ')}: ${stderr}`))
        const [, user, system] = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr) ?? []
        resolve({ms: performance.now() - start, cpuMs: (Number(user) + Number(system)) * 1000, json: JSON.parse(stdout)})
      },
    ),
  )
}

try {
  const created = await fedobs(['cluster', 'create', '--all', '--timeout', '2h'])
  console.error(`created ${created.json.clusters.length} clusters in ${(created.ms / 1000).toFixed(1)} s; test bed RSS ${testbed.rssMiB().toFixed(0)} MiB`)
  await new Promise((resolve) => setTimeout(resolve, 3000))

  const hub = await fedobs(['deploy', 'hub', '--timeout', '10m'])
  const single = await fedobs(['deploy', 'edge', 'edge-1', '--timeout', '10m'])
  const redeploy = await fedobs(['deploy', 'edge', 'edge-1'])
  // Concurrent round: `deploy all` (one process) — the edges fresh, the hub re-applied.
  const all = await fedobs(['deploy', 'all', '--timeout', '10m'])
  const concurrentMs = all.ms

  const t = hub.json.timings
  console.log(`fedobs deploy benchmarks (test bed: ${testbed.clusters.size} real API servers, ${new Date().toISOString()})`)
  console.log(`deploy hub: ${hub.json.applied.length} objects applied in ${(hub.ms / 1000).toFixed(2)} s wall`)
  console.log(`  fedobs's own time: apply ${t.applyMs} ms + prune ${t.pruneMs} ms; waiting for the cluster ${t.waitMs} ms`)
  console.log(
    `deploy edge (one, fresh): ${single.json.applied.length} objects in ${(single.ms / 1000).toFixed(2)} s wall (apply ${single.json.timings.applyMs} ms, wait ${single.json.timings.waitMs} ms)`,
  )
  console.log(`deploy edge again (no changes): ${(redeploy.ms / 1000).toFixed(2)} s wall, ${redeploy.json.counts.unchanged}/${redeploy.json.applied.length} unchanged`)
  console.log(`1 hub + ${EDGES} edges concurrently (deploy all; edges fresh, hub re-applied): ${(concurrentMs / 1000).toFixed(2)} s wall`)
  console.log(`  ratio to one edge: ${(concurrentMs / single.ms).toFixed(2)}   (target <= 1.5)`)
  console.log(
    `  fedobs CPU time: one edge ${(single.cpuMs / 1000).toFixed(2)} s, 1 hub + ${EDGES} edges ${(all.cpuMs / 1000).toFixed(2)} s (the rest of the wall time is the test bed's control planes on the same 2 cores)`,
  )
  console.log(
    `  objects: ${all.json.clusters.reduce((n: number, r: {applied: unknown[]}) => n + r.applied.length, 0)}; test bed RSS ${testbed.rssMiB().toFixed(0)} MiB (11 API servers, controllers and kwok share the 2 cores)`,
  )
} finally {
  await bridge.stop()
  await cloud.close()
  await testbed.stop()
}
