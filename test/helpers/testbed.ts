import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {REPO} from './cli.js'

/** Paths of the test-bed binaries (scripts/testbed/build.sh --print-env), with which exist. */
export function testbedBinaries(): Record<string, string> {
  const text = execFileSync('bash', [`${REPO}scripts/testbed/build.sh`, '--print-env'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  const env: Record<string, string> = {}
  for (const [, key, value] of text.matchAll(/^export (\w+)=(.*)$/gm)) env[key!] = value!.replace(/^'(.*)'$/, '$1')
  return env
}

/**
 * A test tier that needs test-bed binaries: skipped on a laptop that has not built them,
 * but a failure under CI=true (CI builds them first).
 */
export function requireBinaries(names: string[]): {ok: true; paths: Record<string, string>} | {ok: false; missing: string[]} {
  const env = testbedBinaries()
  const missing = names.filter((n) => !env[n] || !existsSync(env[n]))
  if (missing.length > 0 && process.env.CI) {
    throw new Error(`test-bed binaries missing under CI: ${missing.join(', ')} (run npm run testbed:build)`)
  }
  return missing.length > 0 ? {ok: false, missing} : {ok: true, paths: env}
}
