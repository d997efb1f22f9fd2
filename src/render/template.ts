import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {parseAllDocuments} from 'yaml'
import {InternalError} from '../lib/errors.js'

/**
 * Safe templates. A template is a valid YAML file; it is parsed FIRST, and only then are
 * placeholders `${{ path.to.value }}` filled, inside scalar values only. A value can therefore never
 * add keys, documents or list items, whatever characters it holds (quotes, colons, #, newlines, `{{`).
 *
 * - A scalar that is exactly one placeholder takes the value as is (string, number, boolean, or a
 *   mapping/list built by fedobs itself).
 * - A placeholder inside a longer string is interpolated as text (strings and numbers only).
 * - `${{ name? }}` marks an optional value: when it is undefined, the key or list item is removed.
 * - Placeholders in mapping keys are not allowed.
 * - `${env:...}` (collector syntax) and other `$` uses are left alone.
 */
export type Values = Record<string, unknown>

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)(\?)?\s*\}\}/g
const WHOLE = /^\$\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)(\?)?\s*\}\}$/

const OMIT = Symbol('omit')

const cache = new Map<string, unknown[]>()

/** Parse a template file once per process (rendering 100 edges parses each template once). */
export function loadTemplate(file: string): unknown[] {
  let docs = cache.get(file)
  if (!docs) {
    const text = readFileSync(file, 'utf8')
    docs = precompiled()[templateHash(text)] ?? parseTemplateText(text, file)
    cache.set(file, docs)
  }
  return docs
}

/** The key of a template's text in dist/templates.json. */
export function templateHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

let parsed: Record<string, unknown[]> | undefined

/**
 * The templates as `npm run build` parsed them (scripts/build-templates.mjs), by the hash of their
 * text: JSON loads in a millisecond where the YAML parser takes ~100 ms for them all. Only a
 * template whose text is exactly what was parsed is taken from it; any other is parsed here.
 */
function precompiled(): Record<string, unknown[]> {
  if (!parsed) {
    try {
      parsed = (JSON.parse(readFileSync(new URL('../templates.json', import.meta.url), 'utf8')) as {templates: Record<string, unknown[]>}).templates
    } catch {
      parsed = {}
    }
  }
  return parsed
}

export function parseTemplateText(text: string, name: string): unknown[] {
  const parsed = parseAllDocuments(text)
  if (!Array.isArray(parsed)) throw new InternalError(`template ${name} is not a YAML stream`)
  const docs: unknown[] = []
  for (const doc of parsed) {
    if (doc.errors.length > 0) throw new InternalError(`template ${name} is not valid YAML: ${doc.errors[0]?.message ?? ''}`)
    const value: unknown = doc.toJS()
    if (value !== null && value !== undefined) docs.push(value)
  }
  return docs
}

/** Fill every document of a parsed template; returns new objects, the cached template is untouched. */
export function fill(docs: readonly unknown[], values: Values, name = 'template'): unknown[] {
  return docs.map((doc) => fillNode(doc, values, name)).filter((doc) => doc !== OMIT)
}

export function renderTemplate(file: string, values: Values): unknown[] {
  return fill(loadTemplate(file), values, file)
}

function lookup(values: Values, dotted: string): unknown {
  let node: unknown = values
  for (const part of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

function fillNode(node: unknown, values: Values, name: string): unknown {
  if (typeof node === 'string') return fillString(node, values, name)
  if (Array.isArray(node)) {
    const out: unknown[] = []
    for (const item of node) {
      const filled = fillNode(item, values, name)
      if (filled !== OMIT) out.push(filled)
    }
    return out
  }
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      if (key.includes('${{')) throw new InternalError(`template ${name}: placeholders are not allowed in keys (${key})`)
      const filled = fillNode(value, values, name)
      if (filled !== OMIT) out[key] = filled
    }
    return out
  }
  return node
}

function fillString(text: string, values: Values, name: string): unknown {
  const whole = WHOLE.exec(text)
  if (whole) {
    const [, key, optional] = whole
    const value = lookup(values, key!)
    if (value === undefined) {
      if (optional) return OMIT
      throw new InternalError(`template ${name}: no value for ${key}`)
    }
    // Values are copied so that one rendered object never aliases another.
    return typeof value === 'object' && value !== null ? structuredClone(value) : value
  }
  if (!text.includes('${{')) return text
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = lookup(values, key)
    if (typeof value === 'string') return value
    if (typeof value === 'number' || typeof value === 'boolean') return String(value)
    throw new InternalError(`template ${name}: ${key} must be a string or number inside text, got ${value === undefined ? 'nothing' : typeof value}`)
  })
}
