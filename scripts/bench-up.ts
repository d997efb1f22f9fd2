// `fedobs up` on the local sandbox: 1 hub + 1 edge vs 1 hub + 10 edges (target ratio <= 1.5).
// Measures and prints (not a test). Needs the sandbox's binaries (npm run testbed:build).
//   npm run bench:up              BENCH_EDGES=10 (the large federation), BENCH_TIME_SCALE=0.02
// The sandbox runs with --no-telemetry: this measures the CLI and the simulated cloud, not 33
// collectors sharing the machine's cores. `--skip-verify` for the same reason (verify is measured by
// bench:telemetry). Per run: wall time, the CLI's CPU seconds (user + system: the time it owns,
// as opposed to waiting for simulated provisioning and rollouts), its peak RSS, and the wall time
// of each step (create, deploy hub, deploy edges, connect) from the progress lines.
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const EDGES = Number(process.env.BENCH_EDGES ?? 10)
const TIME_SCALE = process.env.BENCH_TIME_SCALE ?? '0.02'
const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-up-'))
let env: NodeJS.ProcessEnv = {...process.env, FEDOBS_SANDBOX_DIR: path.join(dir, 'sandbox'), LINODE_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined, NO_COLOR: '1'}

interface Run {
  code: number
  stdout: string
  stderr: string
  wallS: number
  cpuS: number
  peakMiB: number
  steps: Record<string, number>
}

/** Run the CLI under /usr/bin/time; the first and last progress line of each step give its wall time. */
function fedobs(args: string[]): Promise<Run> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %e %U %S %M', process.execPath, `${root}bin/run.js`, ...args], {env, cwd: root})
    let stdout = ''
    let stderr = ''
    const seen: Record<string, [number, number]> = {}
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => {
      const at = (performance.now() - started) / 1000
      const text = chunk.toString('utf8')
      stderr += text
      for (const line of text.split('\n')) {
        const step = /^(create|deploy hub|deploy edges|connect|verify|[A-Za-z ]+?) › /.exec(line)?.[1]
        if (step) seen[step] = [seen[step]?.[0] ?? at, at]
      }
    })
    child.on('close', (code) => {
      const [, wall, user, system, rss] = /BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr) ?? []
      const steps = Object.fromEntries(Object.entries(seen).map(([k, [a, b]]) => [k, b - a]))
      resolve({code: code ?? 1, stdout, stderr, wallS: Number(wall), cpuS: Number(user) + Number(system), peakMiB: Number(rss) / 1024, steps})
    })
  })
}

function federation(name: string, edges: number): string {
  const file = path.join(dir, `${name}.yaml`)
  const pools = (indent: string): string => `${indent}pools:\n${indent}  - {type: g6-standard-2, count: 2}\n`
  writeFileSync(
    file,
    `apiVersion: fedobs/v1\nname: ${name}\nhub:\n  name: ${name}-hub\n  region: us-ord\n${pools('  ')}edges:\n${Array.from({length: edges}, (_, i) => `  - name: ${name}-edge-${i + 1}\n    region: us-ord\n${pools('    ')}`).join('')}`,
  )
  return file
}

const start = await fedobs(['sandbox', 'start', '--no-telemetry', '--time-scale', TIME_SCALE])
if (start.code !== 0) {
  process.stderr.write(`sandbox start failed:\n${start.stderr}\n`)
  process.exit(1)
}
env = {...env, ...Object.fromEntries([...start.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]))}
const row = (label: string, r: Run): string =>
  `${label.padEnd(24)} wall ${r.wallS.toFixed(1).padStart(6)} s   CLI CPU ${r.cpuS.toFixed(2).padStart(6)} s   peak ${r.peakMiB.toFixed(0).padStart(4)} MiB   steps: ${Object.entries(r.steps)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ')}`
try {
  const small = federation('small', 1)
  const large = federation('large', EDGES)
  const results: Array<[string, Run]> = []
  for (const [label, file] of [
    ['1 hub + 1 edge', small],
    [`1 hub + ${EDGES} edges`, large],
  ] as const) {
    const up = await fedobs(['up', '-f', file, '--yes', '--skip-verify', '--timeout', '2h'])
    if (up.code !== 0) throw new Error(`${label}: up exited ${up.code}\n${up.stderr.slice(-3000)}`)
    results.push([label, up])
    const again = await fedobs(['up', '-f', file, '--yes', '--skip-verify'])
    results.push([`${label} (re-run)`, again])
    await fedobs(['down', '-f', file, '--yes'])
  }
  process.stdout.write(`fedobs up on the sandbox (time scale ${TIME_SCALE}, no telemetry, --skip-verify)\n`)
  for (const [label, r] of results) process.stdout.write(`${row(label, r)}\n`)
  const [one, many] = [results[0]![1], results[2]![1]]
  process.stdout.write(`ratio ${EDGES} edges / 1 edge: wall ${(many.wallS / one.wallS).toFixed(2)} (target <= 1.5), CLI CPU ${(many.cpuS / one.cpuS).toFixed(2)}\n`)
} finally {
  await fedobs(['sandbox', 'stop'])
  if (process.env.BENCH_KEEP) process.stderr.write(`kept ${dir}\n`)
  else rmSync(dir, {recursive: true, force: true})
}
