import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = `${REPO}bin/run.js`

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run the built CLI as a user would: a subprocess of bin/run.js on this Node. */
export function runCli(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO,
      env: {...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
    child.stdin.end(options.input ?? '')
  })
}
