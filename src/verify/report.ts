import type {Output} from '../lib/output.js'
import type {Check, VerifyReport} from './checks.js'

const ICON = {ok: '✔', warn: '‼', fail: '✖'} as const
const COLOR = {ok: 'green', warn: 'yellow', fail: 'red'} as const

/** Grouped like `linkerd check`: one line per check, a hint under each problem, a summary. */
export function formatReport(report: VerifyReport, output: Output): string {
  const lines: string[] = []
  for (const group of report.groups) {
    if (group.checks.length === 0) continue
    lines.push(output.paint('bold', group.name), '-'.repeat(group.name.length))
    for (const check of group.checks) {
      lines.push(`${output.paint(COLOR[check.status], ICON[check.status])} ${check.name}: ${check.message}`)
      if (check.hint && check.status !== 'ok') lines.push(`    ${output.paint('gray', `hint: ${check.hint}`)}`)
    }
    lines.push('')
  }
  const {ok, warn, fail} = report.summary
  lines.push(
    report.ok
      ? output.paint('green', `Status check results are ${ICON.ok}${warn > 0 ? ` (${warn} warning${warn === 1 ? '' : 's'})` : ''}`)
      : output.paint('red', `Status check results are ${ICON.fail}: ${fail} failed, ${warn} warning(s), ${ok} passed`),
  )
  return lines.join('\n')
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** JUnit XML: a test suite per group, a test case per check (warnings pass, with system-out). */
export function junitReport(report: VerifyReport): string {
  const suites = report.groups.map((group) => {
    const cases = group.checks.map((check: Check) => {
      const body =
        check.status === 'fail'
          ? `<failure message="${xml(check.message)}">${xml(check.hint ?? '')}</failure>`
          : check.status === 'warn'
            ? `<system-out>${xml(`warning: ${check.message}${check.hint ? ` (hint: ${check.hint})` : ''}`)}</system-out>`
            : ''
      return `    <testcase classname="fedobs.verify.${xml(group.name)}" name="${xml(check.name)}">${body}</testcase>`
    })
    const failures = group.checks.filter((c) => c.status === 'fail').length
    return `  <testsuite name="${xml(group.name)}" tests="${group.checks.length}" failures="${failures}" errors="0" timestamp="${report.checkedAt}">\n${cases.join('\n')}\n  </testsuite>`
  })
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="fedobs verify" tests="${report.summary.ok + report.summary.warn + report.summary.fail}" failures="${report.summary.fail}">\n${suites.join('\n')}\n</testsuites>\n`
}
