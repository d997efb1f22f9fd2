import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

/**
 * An extra PII pattern the collector (Go's RE2) would reject fails `config validate` like any
 * other problem of the federation file: exit 2, file:line:column of the pattern, the field, and
 * what is wrong with it, although JavaScript's RegExp would accept it.
 */
const LOOKAHEAD = 'test/fixtures/malformed/31-pii-pattern-lookahead.yaml'
const BACKREFERENCE = 'test/fixtures/malformed/32-pii-pattern-backreference.yaml'

describe('a malformed extra PII pattern', () => {
  it('exits 2 and names file:line:column, the field and the problem on stderr', async () => {
    const result = await runCli(['config', 'validate', '-f', LOOKAHEAD])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`${LOOKAHEAD}:9:16: security.pii.patterns[0].regex: the pattern "EMP-(?=[0-9]{6})" cannot be used: look-ahead "(?=" is not supported by RE2`)
    expect(result.stderr).toContain('no look-around, no back-references')
  })

  it('reports the same place in --json', async () => {
    const result = await runCli(['config', 'validate', '-f', BACKREFERENCE, '--json'])
    expect(result.code).toBe(2)
    const {error} = JSON.parse(result.stdout) as {error: {exitCode: number; issues: Array<Record<string, unknown>>}}
    expect(error.exitCode).toBe(2)
    expect(error.issues).toHaveLength(1)
    expect(error.issues[0]).toMatchObject({file: BACKREFERENCE, line: 11, column: 16, field: 'security.pii.patterns[1].regex'})
    expect(String(error.issues[0]!.message)).toContain('back-reference "\\1" is not supported by RE2')
  })

  it('accepts patterns in Go syntax that JavaScript would reject: (?i) and (?P<name>…)', async () => {
    const file = `apiVersion: fedobs/v1
name: demo
hub: {name: demo-hub}
security:
  pii:
    patterns:
      - {name: ticket, regex: '(?i)ticket-(?P<id>[0-9]{5})\\z', replacement: 'ticket-\${id}'}
      - {name: badge, regex: '(?<badge>B[0-9]{4})\\b[[:alpha:]]'}
`
    const federationFile = path.join(mkdtempSync(path.join(tmpdir(), 'fedobs-pii-')), 'fedobs.yaml')
    writeFileSync(federationFile, file)
    const result = await runCli(['config', 'validate', '-f', federationFile])
    expect(result.stderr).not.toContain('RE2')
    expect(result.code).toBe(0)
  })
})
