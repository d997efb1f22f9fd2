// The main job on the local sandbox (no Linode account needed): the fake Linode API whose LKE
// clusters are real Kubernetes control planes on loopback. Runs the real CLI, step by step, on the
// example federation (the seed's hub and edge), then tears everything down.
//   npm run demo            (builds the test bed first; set FEDOBS_DEMO_KEEP=1 to keep it running)
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {startLinodeTestbed} from '../src/sandbox/testbed/bridge.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const TIME_SCALE = 0.02
const home = mkdtempSync(path.join(tmpdir(), 'fedobs-demo-'))
const sandbox = await startLinodeTestbed({fake: {timeScale: TIME_SCALE}})
const env = {
  ...process.env,
  HOME: home,
  KUBECONFIG: path.join(home, '.kube', 'config'),
  LINODE_URL: sandbox.fake.url,
  LINODE_TOKEN: sandbox.fake.token,
  FEDOBS_TIME_SCALE: String(TIME_SCALE),
}

function fedobs(args: string[]): Promise<number> {
  process.stderr.write(`\n$ fedobs ${args.join(' ')}\n`)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}bin/run.js`, ...args], {env, stdio: 'inherit', cwd: root})
    child.on('close', (code) => resolve(code ?? 1))
  })
}

const steps: string[][] = [
  ['config', 'validate', '-f', 'examples/fedobs.yaml'],
  ['cluster', 'create', '--all', '-f', 'examples/fedobs.yaml'],
  ['cluster', 'list', '-f', 'examples/fedobs.yaml'],
  ['deploy', 'hub', '-f', 'examples/fedobs.yaml'],
  ['deploy', 'edge', 'fed-observability-remote', '-f', 'examples/fedobs.yaml'],
  ['connect', 'fed-observability-remote', 'hub', '-f', 'examples/fedobs.yaml', '--yes'],
  ['certs', 'status', '-f', 'examples/fedobs.yaml'],
  ['deploy', 'all', '-f', 'examples/fedobs.yaml'],
  ['teardown', '-f', 'examples/fedobs.yaml', '--dry-run'],
  ['teardown', '-f', 'examples/fedobs.yaml', '--yes'],
]

let failed = 0
try {
  process.stderr.write(`sandbox: fake Linode API at ${sandbox.fake.url}, real API servers in ${sandbox.testbed.dir}\n`)
  for (const step of steps) {
    if (process.env.FEDOBS_DEMO_KEEP && step[0] === 'teardown') break
    const code = await fedobs(step)
    if (code !== 0) {
      process.stderr.write(`step failed with exit code ${code}\n`)
      failed = code
      break
    }
  }
  if (process.env.FEDOBS_DEMO_KEEP && !failed) {
    process.stderr.write(
      `\nThe sandbox keeps running. In another shell:\n  export HOME=${home} KUBECONFIG=${env.KUBECONFIG} LINODE_URL=${env.LINODE_URL} LINODE_TOKEN=<see the sandbox> FEDOBS_TIME_SCALE=${TIME_SCALE}\nCtrl-C stops it.\n`,
    )
    await new Promise((resolve) => process.once('SIGINT', resolve))
  }
} finally {
  await sandbox.stop()
}
process.stderr.write(failed ? '\ndemo failed\n' : '\ndemo done: every step succeeded\n')
process.exit(failed)
