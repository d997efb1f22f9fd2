// The main job on the local sandbox (no Linode account needed), as a user runs it:
//   fedobs sandbox start → fedobs up (create, deploy, connect, verify green on real data)
//   → fedobs status → fedobs down → fedobs sandbox stop
//   npm run demo            (builds the CLI and, once, the sandbox's binaries: ~28 min cold on two cores)
//   FEDOBS_DEMO_KEEP=1 npm run demo   keeps the sandbox and the federation running at the end.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseExportLines} from '../src/sandbox/state.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const keep = Boolean(process.env.FEDOBS_DEMO_KEEP)
// A sandbox of its own (its kubeconfig, token and state in a temporary directory): the demo never
// touches the user's kubeconfig, Linode token or a sandbox they already run.
const home = mkdtempSync(path.join(tmpdir(), 'fedobs-demo-'))
let env: NodeJS.ProcessEnv = {...process.env, FEDOBS_SANDBOX_DIR: path.join(home, 'sandbox'), LINODE_TOKEN: undefined, LINODE_CLI_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined}
const started = Date.now()

function fedobs(args: string[], capture = false): Promise<{code: number; stdout: string}> {
  process.stderr.write(`\n[${Math.round((Date.now() - started) / 1000)}s] $ fedobs ${args.join(' ')}\n`)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}bin/run.js`, ...args], {env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], cwd: root})
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.on('close', (code) => resolve({code: code ?? 1, stdout}))
  })
}

let failed = 0
const start = await fedobs(['sandbox', 'start'], true)
if (start.code !== 0) {
  process.stderr.write('the sandbox did not start\n')
  process.exit(start.code)
}
process.stdout.write(start.stdout)
const exported = parseExportLines(start.stdout)
env = {...env, ...exported}

const steps: string[][] = [
  ['config', 'validate', '-f', 'examples/fedobs.yaml'],
  ['up', '-f', 'examples/fedobs.yaml', '--yes'],
  ['status', '-f', 'examples/fedobs.yaml'],
  ['up', '-f', 'examples/fedobs.yaml', '--yes'], // idempotent: a second run changes nothing and verifies again
]
if (!keep) steps.push(['down', '-f', 'examples/fedobs.yaml', '--yes'])
try {
  for (const step of steps) {
    const {code} = await fedobs(step)
    if (code !== 0) {
      process.stderr.write(`step failed with exit code ${code}\n`)
      failed = code
      break
    }
  }
} finally {
  if (keep && !failed) {
    process.stderr.write(
      `\nThe sandbox and the federation keep running. In another shell:\n  export FEDOBS_SANDBOX_DIR=${env.FEDOBS_SANDBOX_DIR}\n  eval "$(npx fedobs sandbox env)"\n  npx fedobs status -f examples/fedobs.yaml\nStop it all: npx fedobs down -f examples/fedobs.yaml --yes && npx fedobs sandbox stop\n`,
    )
  } else await fedobs(['sandbox', 'stop'])
}
process.stderr.write(failed ? `\ndemo failed after ${Math.round((Date.now() - started) / 1000)} s\n` : `\ndemo done in ${Math.round((Date.now() - started) / 1000)} s: every step succeeded\n`)
process.exit(failed)
