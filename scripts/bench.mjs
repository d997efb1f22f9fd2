#!/usr/bin/env node
// Benchmarks (measure and print; never a timed test). Run with `npm run bench` after `npm run build`.
//   - startup: `fedobs --version` and `fedobs --help` beside bare `node -e 0`, in the same run
//   - rendering 1 hub + 100 edges (a fresh process: module load + validation + render + YAML)
// Targets: --version within 100 ms of bare node; 1 hub + 100 edges under 1 s.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const runs = Number(process.env.BENCH_RUNS ?? 15)
const node = process.execPath

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function time(args, options = {}) {
  const samples = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    const result = spawnSync(node, args, {cwd: root, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, ...options})
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`)
    samples.push(ms)
  }
  return median(samples)
}

// A federation of 1 hub + 100 GPU edges.
const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-'))
const edges = Array.from(
  {length: 100},
  (_, i) => `  - name: edge-${i + 1}\n    region: us-ord\n    pools:\n      - {type: g6-standard-2, count: 2}\n      - {type: g2-gpu-rtx4000a1-s, count: 1}\n`,
).join('')
const file = path.join(dir, 'fedobs.yaml')
writeFileSync(
  file,
  `apiVersion: fedobs/v1\nname: bench\nhub:\n  name: bench-hub\n  pools: [{type: g6-standard-4, count: 3}]\nedges:\n${edges}telemetry:\n  gateway: {endpoint: "203.0.113.7:4317"}\ninference: {enabled: true, image: "registry.example.com/bert:1"}\n`,
)
const renderAll = `
const start = performance.now()
const {loadFederation} = await import(${JSON.stringify(`${root}dist/federation/load.js`)})
const {renderHub, renderEdge} = await import(${JSON.stringify(`${root}dist/render/render.js`)})
const {toYamlStream} = await import(${JSON.stringify(`${root}dist/render/write.js`)})
const loaded = performance.now()
const federation = loadFederation({file: ${JSON.stringify(file)}})
let bytes = toYamlStream(renderHub(federation).objects).length
for (const edge of federation.edges) bytes += toYamlStream(renderEdge(federation, edge.name, {hubEndpoint: '203.0.113.7:4317'}).objects).length
process.stdout.write(JSON.stringify({importMs: loaded - start, renderMs: performance.now() - loaded, bytes}))
`

const bare = time(['-e', '0'])
const version = time(['bin/run.js', '--version'])
const help = time(['bin/run.js', '--help'])
const renderHubCli = time(['bin/run.js', 'render', 'hub', '-f', 'examples/fedobs.yaml'])
const renderSamples = []
const inner = []
for (let i = 0; i < Math.min(runs, 7); i++) {
  const start = process.hrtime.bigint()
  const result = spawnSync(node, ['--input-type=module', '-e', renderAll], {cwd: root, encoding: 'utf8'})
  if (result.status !== 0) throw new Error(result.stderr)
  renderSamples.push(Number(process.hrtime.bigint() - start) / 1e6)
  inner.push(JSON.parse(result.stdout))
}
const renderProcess = median(renderSamples)
const renderOnly = median(inner.map((r) => r.renderMs))

const row = (name, ms, note = '') => console.log(`${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${note}`)
console.log(`fedobs benchmarks: median of ${runs} runs, Node ${process.version}, ${new Date().toISOString()}`)
row('node -e 0 (bare node)', bare)
row('fedobs --version', version, `+${(version - bare).toFixed(1)} ms over bare node (target <= 100)`)
row('fedobs --help', help, `+${(help - bare).toFixed(1)} ms over bare node`)
row('fedobs render hub (seed example, CLI)', renderHubCli)
row('render 1 hub + 100 edges (whole process)', renderProcess, `target < 1000 ms; ${(inner[0].bytes / 1024).toFixed(0)} KiB of YAML`)
row('  of which validation + rendering', renderOnly)
const ok = version - bare <= 100 && renderProcess < 1000
console.log(ok ? 'targets met' : 'TARGETS MISSED')
