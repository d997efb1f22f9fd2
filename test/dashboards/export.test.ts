import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {allPanels, PROVISIONED_DATASOURCES, type Dashboard} from '../../src/dashboards/grafana.js'
import {formatFinding, lintDashboards} from '../../src/dashboards/lint.js'
import {REPO, runCli} from '../helpers/cli.js'
import {expectDocument} from '../helpers/json-schemas.js'
import {GRAMMARS} from './grammars.js'

// Through the built CLI (npm run build first), as a user runs it.

const SHIPPED: Dashboard[] = readdirSync(`${REPO}dashboards`)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(`${REPO}dashboards/${f}`, 'utf8')) as Dashboard)
const UIDS = SHIPPED.map((d) => d.uid!)
const PROVISIONED_UIDS: string[] = Object.values(PROVISIONED_DATASOURCES).map((d) => d.uid)

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fedobs-export-'))
}

async function exportTo(dir: string, ...args: string[]): Promise<any> {
  const result = await runCli(['dashboards', 'export', dir, ...args, '--json'])
  expect(result.code, result.stderr + result.stdout).toBe(0)
  return expectDocument('dashboards-export', result.stdout)
}

/** Every `datasource` value anywhere in the document. */
function datasourceValues(value: unknown, found: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) datasourceValues(item, found)
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'datasource') found.push(child)
      else datasourceValues(child, found)
    }
  }
  return found
}

function readDirectory(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]))
}

describe('fedobs dashboards export', () => {
  it('writes one <uid>.json per shipped dashboard and lists them (-o json matches its schema)', async () => {
    const dir = path.join(tempDir(), 'out')
    const document = await exportTo(dir)
    expect(document.directory).toBe(dir)
    expect(readdirSync(dir).sort()).toEqual(UIDS.map((uid) => `${uid}.json`).sort())
    expect(document.files.map((f: {uid: string}) => f.uid).sort()).toEqual([...UIDS].sort())
    for (const file of document.files) {
      expect(file).toMatchObject({status: 'written', file: `${file.uid}.json`, path: path.join(dir, `${file.uid}.json`)})
    }
  })

  it('replaces every provisioned datasource uid with an input that __inputs declares, with __requires and id null', async () => {
    const dir = tempDir()
    const document = await exportTo(dir)
    for (const shipped of SHIPPED) {
      const text = readFileSync(path.join(dir, `${shipped.uid}.json`), 'utf8')
      const exported = JSON.parse(text) as Dashboard
      expect(exported.id).toBeNull()
      expect(exported.uid).toBe(shipped.uid)
      expect(exported.title).toBe(shipped.title)
      // No reference to the hub's own datasources is left, in any form.
      for (const ref of datasourceValues(exported)) {
        const uid = typeof ref === 'string' ? ref : (ref as {uid?: string} | null)?.uid
        expect(PROVISIONED_UIDS, `${shipped.uid}: ${JSON.stringify(ref)}`).not.toContain(uid)
      }
      // Every ${DS_*} used is an input, and every input is used.
      const used = [...new Set([...text.matchAll(/\$\{(DS_[A-Z_]+)\}/g)].map((m) => m[1]!))].sort()
      expect(used.length).toBeGreaterThan(0)
      expect(exported.__inputs!.map((i) => i.name).sort()).toEqual(used)
      for (const input of exported.__inputs!) {
        const datasource = Object.values(PROVISIONED_DATASOURCES).find((d) => d.input === input.name)!
        expect(input).toEqual({name: datasource.input, label: datasource.name, description: '', type: 'datasource', pluginId: datasource.type, pluginName: datasource.name})
      }
      // __requires: Grafana, each datasource plugin, each panel plugin.
      const requires = exported.__requires!
      expect(requires[0]).toMatchObject({type: 'grafana', id: 'grafana', name: 'Grafana', version: expect.stringMatching(/^\d+\.\d+\.\d+$/)})
      expect(requires.filter((r) => r.type === 'datasource').map((r) => r.id)).toEqual(exported.__inputs!.map((i) => i.pluginId))
      const panelTypes = [...new Set(allPanels(shipped).map(({panel}) => panel.type!))].filter((t) => t !== 'row').sort()
      expect(requires.filter((r) => r.type === 'panel').map((r) => r.id)).toEqual(panelTypes)
      // Nothing else changed: the panels' queries are the shipped ones.
      expect(allPanels(exported).map(({panel}) => panel.targets?.map((t) => t.expr ?? t.query))).toEqual(allPanels(shipped).map(({panel}) => panel.targets?.map((t) => t.expr ?? t.query)))
    }
    expect(document.inputs.map((i: {name: string}) => i.name)).toContain('DS_PROMETHEUS')
  })

  it('the exported dashboards pass the linter (datasource inputs allowed)', async () => {
    const dir = tempDir()
    await exportTo(dir)
    const exported = readdirSync(dir).map((file) => ({file, dashboard: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Dashboard}))
    expect(exported).toHaveLength(SHIPPED.length)
    expect(lintDashboards(exported, GRAMMARS).map(formatFinding)).toEqual([])
  })

  it('re-running changes nothing: every file unchanged, byte for byte', async () => {
    const dir = tempDir()
    await exportTo(dir)
    const before = readDirectory(dir)
    const again = await exportTo(dir)
    expect(again.files.map((f: {status: string}) => f.status)).toEqual(UIDS.map(() => 'unchanged'))
    expect(readDirectory(dir)).toEqual(before)
  })

  it('refuses to overwrite a file that differs (exit 2, nothing written); --force replaces it', async () => {
    const dir = tempDir()
    await exportTo(dir)
    const fresh = readDirectory(dir)
    const victim = `${UIDS[0]}.json`
    writeFileSync(path.join(dir, victim), '{"edited": "by hand"}\n')
    const refused = await runCli(['dashboards', 'export', dir])
    expect(refused.code).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain(`${path.join(dir, victim)} exists and differs`)
    expect(refused.stderr).toContain('--force')
    expect(readFileSync(path.join(dir, victim), 'utf8')).toBe('{"edited": "by hand"}\n')

    const forced = await exportTo(dir, '--force')
    expect(forced.files.find((f: {file: string}) => f.file === victim).status).toBe('overwritten')
    expect(readDirectory(dir)).toEqual(fresh)
  })

  it('--uid picks dashboards; an unknown uid is exit 2 with did-you-mean, and nothing is written', async () => {
    const dir = path.join(tempDir(), 'picked')
    const picked = await exportTo(dir, '--uid', UIDS[0]!)
    expect(picked.files.map((f: {uid: string}) => f.uid)).toEqual([UIDS[0]])
    expect(readdirSync(dir)).toEqual([`${UIDS[0]}.json`])

    const empty = path.join(tempDir(), 'never')
    const typo = `${UIDS[0]!.slice(0, -2)}${UIDS[0]!.at(-1)}${UIDS[0]!.at(-2)}`
    const human = await runCli(['dashboards', 'export', empty, '--uid', UIDS[0]!, '--uid', typo])
    expect(human.code).toBe(2)
    expect(human.stderr).toContain(`no dashboard with uid "${typo}"`)
    expect(human.stderr).toContain(`did you mean: ${UIDS[0]}`)
    const json = await runCli(['dashboards', 'export', empty, '--uid', typo, '--json'])
    expect(json.code).toBe(2)
    expect(expectDocument('error', json.stdout).error).toMatchObject({code: 'unknown-dashboard', suggestions: [UIDS[0]]})
    expect(existsSync(empty)).toBe(false)
  })

  it('an unusable DIR is exit 2 with the path and the reason, and nothing is written', async () => {
    const base = tempDir()
    const file = path.join(base, 'a-file')
    writeFileSync(file, 'not a directory\n')
    for (const dir of [file, path.join(file, 'below')]) {
      const result = await runCli(['dashboards', 'export', dir])
      expect(result.code, dir).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain(`cannot write the dashboards into ${dir}`)
      expect(result.stderr).toContain('is a file, not a directory')
    }
    // A directory the kernel refuses (a pseudo file system): the path, the reason, exit 2.
    const refused = await runCli(['dashboards', 'export', '/proc/fedobs-export-test', '--json'])
    expect(refused.code).toBe(2)
    expect(expectDocument('error', refused.stdout).error.message).toMatch(/^cannot create the dashboards directory \/proc\/fedobs-export-test: /)
    expect(readdirSync(base)).toEqual(['a-file'])
    expect(readFileSync(file, 'utf8')).toBe('not a directory\n')
  })

  it('without DIR writes ./fedobs-dashboards, never ./dashboards', async () => {
    const cwd = tempDir()
    const result = await runCli(['dashboards', 'export'], {cwd})
    expect(result.code, result.stderr).toBe(0)
    expect(readdirSync(cwd)).toEqual(['fedobs-dashboards'])
    expect(readdirSync(path.join(cwd, 'fedobs-dashboards')).sort()).toEqual(UIDS.map((uid) => `${uid}.json`).sort())
    // Human form: the table on stdout, the summary and the import hint on stderr.
    expect(result.stdout).toMatch(/^UID\s+TITLE\s+STATUS\s+FILE\n/)
    expect(result.stderr).toContain('Dashboards › New › Import')
  })
})
