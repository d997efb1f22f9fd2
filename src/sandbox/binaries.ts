import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** The package root (holds scripts/testbed/build.sh), from src/sandbox or dist/sandbox alike. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Paths of the test-bed binaries (scripts/testbed/build.sh --print-env), with which exist. */
export function testbedBinaries(): Record<string, string> {
  const text = execFileSync('bash', [`${PACKAGE_ROOT}scripts/testbed/build.sh`, '--print-env'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  const env: Record<string, string> = {}
  for (const [, key, value] of text.matchAll(/^export (\w+)=(.*)$/gm)) env[key!] = value!.replace(/^'(.*)'$/, '$1')
  return env
}
