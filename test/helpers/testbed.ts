import {existsSync} from 'node:fs'
import {testbedBinaries} from '../../src/sandbox/binaries.js'

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

export {testbedBinaries}
