import {readdirSync, readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {runCli, REPO} from '../helpers/cli.js'

/**
 * The malformed corpus: each file states on its first line where the problem is and what the
 * message must say. Each runs through the real CLI (`config validate --json`) and must exit 2.
 */
const DIR = `${REPO}test/fixtures/malformed/`
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

interface Expectation {
  line: number
  field: string
  message: string
  expected?: string
  valid?: string
  suggestion?: string
}

function expectation(file: string): Expectation {
  const header = readFileSync(DIR + file, 'utf8').split('\n')[0]!
  const pairs = Object.fromEntries([...header.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)].map(([, key, quoted, bare]) => [key, quoted !== undefined ? quoted.replaceAll('\\"', '"') : bare]))
  return {line: Number(pairs.line), field: pairs.field ?? '', message: pairs.message!, expected: pairs.expected, valid: pairs.valid, suggestion: pairs.suggestion}
}

describe('malformed federation files', () => {
  it('has a corpus of at least 20 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(20)
  })

  for (const file of files) {
    it(`${file}: exit 2, names line, field and problem`, async () => {
      const want = expectation(file)
      const result = await runCli(['config', 'validate', '-f', `test/fixtures/malformed/${file}`, '--json'])
      expect(result.code).toBe(2)
      const {error} = JSON.parse(result.stdout) as {error: {code: string; exitCode: number; issues: Array<Record<string, unknown>>}}
      expect(error.exitCode).toBe(2)
      expect(error.code).toBe('invalid-config')
      const issue = error.issues.find((i) => i.field === want.field && String(i.message).includes(want.message))
      expect(issue, JSON.stringify(error.issues, null, 2)).toBeDefined()
      expect(issue!.file).toBe(`test/fixtures/malformed/${file}`)
      expect(issue!.line).toBe(want.line)
      if (want.expected) expect(String(issue!.expected)).toContain(want.expected)
      if (want.valid) expect(issue!.validValues).toContain(want.valid)
      if (want.suggestion) expect(issue!.suggestion).toBe(want.suggestion)
    })
  }

  it('prints file:line:column, field and message on stderr for humans, nothing on stdout', async () => {
    const result = await runCli(['config', 'validate', '-f', 'test/fixtures/malformed/08-count-zero.yaml'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('test/fixtures/malformed/08-count-zero.yaml:8:14: hub.pools[0].count: the integer 0 is out of range')
    expect(result.stderr).toContain('expected: an integer from 1 to 100')
  })
})
