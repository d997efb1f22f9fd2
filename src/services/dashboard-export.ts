import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {toImportable} from '../dashboards/export.js'
import type {Dashboard, DashboardInput} from '../dashboards/grafana.js'
import {fsError, InternalError, isFsError, onFs, UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {VERSIONS} from '../render/images.js'
import {dashboards} from '../render/render.js'

/** Where `fedobs dashboards export` writes without a DIR: not ./dashboards, which is the repository's own. */
export const DEFAULT_EXPORT_DIRECTORY = 'fedobs-dashboards'

export interface ExportRequest {
  /** The directory to write into (created if missing). */
  directory: string
  /** Only these dashboards (by uid); all when empty or absent. */
  uids?: readonly string[]
  /** Replace files that exist and differ. */
  force?: boolean
}

export interface ExportedFile {
  uid: string
  title: string
  /** The file name, `<uid>.json`. */
  file: string
  /** Its absolute path. */
  path: string
  /** written: new; overwritten: replaced a different file (--force); unchanged: the same file was there. */
  status: 'written' | 'overwritten' | 'unchanged'
}

export interface ExportResult {
  directory: string
  files: ExportedFile[]
  /** The datasource inputs Grafana asks for on import, over all the exported dashboards. */
  inputs: DashboardInput[]
}

/** The dashboards the hub provisions (dashboards/*.json of the package), in file order. */
export function shippedDashboards(): Dashboard[] {
  return Object.values(dashboards()).map((text) => JSON.parse(text) as Dashboard)
}

/**
 * Write each chosen dashboard as `<uid>.json`, importable into any Grafana. Everything is checked
 * before anything is written: unknown uids, the directory, files that exist and differ (refused
 * without `force`); then every file is written beside its target and renamed into place, so a
 * failure leaves the directory as it was.
 */
export function exportDashboards(request: ExportRequest): ExportResult {
  const all = shippedDashboards()
  const known = all.map((d) => d.uid ?? '')
  const wanted = [...new Set(request.uids ?? [])]
  for (const uid of wanted) {
    if (!known.includes(uid)) {
      throw new UsageError(`no dashboard with uid ${JSON.stringify(uid)}`, {
        suggestions: closest(uid, known),
        hint: `fedobs ships: ${known.join(', ')}.`,
        code: 'unknown-dashboard',
      })
    }
  }
  const chosen = wanted.length === 0 ? all : all.filter((d) => wanted.includes(d.uid ?? ''))
  const directory = path.resolve(request.directory)
  const context = {elsewhere: 'the DIR argument'}
  const missing = missingDirectories(directory)

  const inputs = new Map<string, DashboardInput>()
  const planned = chosen.map((dashboard) => {
    if (!dashboard.uid) throw new InternalError(`a dashboard fedobs ships has no uid: ${dashboard.title ?? '(untitled)'}`)
    const importable = toImportable(dashboard, {grafanaVersion: VERSIONS.grafana})
    for (const input of importable.__inputs ?? []) inputs.set(input.name, input)
    const file = `${dashboard.uid}.json`
    const target = path.join(directory, file)
    const text = `${JSON.stringify(importable, null, 2)}\n`
    const existing = existsSync(target) ? onFs({...context, operation: 'read', what: 'existing file', path: target}, () => readFileSync(target, 'utf8')) : undefined
    const status: ExportedFile['status'] = existing === undefined ? 'written' : existing === text ? 'unchanged' : 'overwritten'
    return {uid: dashboard.uid, title: dashboard.title ?? dashboard.uid, file, path: target, status, text}
  })

  const conflicts = planned.filter((p) => p.status === 'overwritten')
  if (conflicts.length > 0 && !request.force) {
    throw new UsageError(`${conflicts.map((c) => c.path).join(', ')} ${conflicts.length === 1 ? 'exists and differs' : 'exist and differ'} from the dashboard fedobs ships; nothing was written`, {
      hint: 'Pass --force to replace them, or export into another directory.',
      code: 'would-overwrite',
    })
  }

  for (const missingDirectory of missing) onFs({...context, operation: 'create', what: 'dashboards directory', path: missingDirectory}, () => mkdirSync(missingDirectory))
  const changed = planned.filter((p) => p.status !== 'unchanged')
  const temporary = changed.map((p) => ({...p, temporary: `${p.path}.${process.pid}.tmp`}))
  let current = directory
  try {
    for (const p of temporary) {
      current = p.path
      writeFileSync(p.temporary, p.text, {mode: 0o644})
    }
    for (const p of temporary) {
      current = p.path
      renameSync(p.temporary, p.path)
    }
  } catch (error) {
    for (const p of temporary) rmSync(p.temporary, {force: true})
    if (isFsError(error)) throw fsError(error, {...context, operation: 'write', what: 'dashboard', path: current})
    throw error
  }
  return {directory, files: planned.map(({text: _text, ...file}) => file), inputs: [...inputs.values()]}
}

/**
 * The directories to create for `directory`, outermost first, after checking that its nearest
 * existing ancestor is a directory. (Created one by one: mkdir's `recursive` spins forever on a path
 * in a pseudo file system such as /proc, where mkdir answers ENOENT under a parent that exists.)
 */
function missingDirectories(directory: string): string[] {
  const missing: string[] = []
  let current = directory
  while (!existsSync(current)) {
    missing.unshift(current)
    const parent = path.dirname(current)
    if (parent === current) break
    current = parent
  }
  if (existsSync(current) && !statSync(current).isDirectory()) {
    throw new UsageError(`cannot write the dashboards into ${directory}: ${current === directory ? 'it' : current} is a file, not a directory`, {
      hint: 'Name a directory (it is created if missing) as the DIR argument.',
      code: 'fs-enotdir',
    })
  }
  return missing
}
