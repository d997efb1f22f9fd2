import {onTestFinished} from 'vitest'
import type {CliResult} from './cli.js'

/**
 * --verbose failure paths print more (the stack, debug lines of every request) and must leak no more
 * than the normal ones. A helper that checks a run's output for secrets hands each failed run here:
 * once the test is over (its own assertions untouched by a second run), while its fixtures still
 * live, the same command runs again with --verbose (and without --json, which silences the stack)
 * and that output gets the same check. Outside a test (a beforeAll), the re-run happens at once.
 */
export function recheckFailureVerbose(args: string[], result: CliResult, rerun: (args: string[]) => Promise<CliResult>, check: (result: CliResult) => void): void {
  if (result.code === 0 || args.includes('--verbose')) return
  const verboseArgs = [...args.filter((a) => a !== '--json'), '--verbose']
  const recheck = async (): Promise<void> => {
    check(await rerun(verboseArgs))
  }
  try {
    onTestFinished(recheck)
  } catch {
    void recheck()
  }
}
