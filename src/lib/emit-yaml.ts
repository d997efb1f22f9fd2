/**
 * The YAML policy of fedobs: one emitter, one parser.
 * - Every YAML fedobs writes (rendered manifests, collector and Prometheus configs, kubeconfigs)
 *   goes through `emitYaml`, here: plain data (what JSON can hold) in, deterministic text out.
 * - Every YAML fedobs reads goes through the `yaml` library (`parseDocument` keeps positions for
 *   file:line:column errors; templates are parsed before they are filled). `yaml.stringify` is for
 *   tests that make inputs, never for what fedobs writes.
 *
 * Why our own emitter: the `yaml` library builds a node tree first and was most of the time spent
 * rendering 100 edges; this writes text directly. Why for kubeconfigs too: one set of quoting rules
 * to trust (kubectl reads YAML 1.1, where yes/no/on/off and 0755 are not strings), and the
 * credential files come out in the same shape every time. Comments in a kubeconfig are not kept:
 * kubectl does not keep them either.
 *
 * Safety rule: a string is written plain only when it cannot be read back as anything else;
 * otherwise it is double-quoted with JSON escapes (valid YAML). Multi-line text (configuration
 * files inside ConfigMaps) becomes a literal block when that reads back exactly.
 * Tests round-trip every rendered object, kubeconfigs and hostile strings through the `yaml` parser.
 */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@-]*(?:[ :][A-Za-z0-9_./@-]+)*$/
const RESERVED = /^(?:y|yes|n|no|true|false|on|off|null|~|\.nan|\.inf)$/i
const NUMERIC = /^[-+.]?[0-9]/
// eslint-disable-next-line no-control-regex -- the YAML emitter must find control characters to quote them
const NON_PRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff]/

function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\L' : '\\P'))
}

function scalarString(text: string): string {
  if (text === '') return "''"
  if (PLAIN.test(text) && !RESERVED.test(text) && !NUMERIC.test(text) && !text.includes(': ') && !text.endsWith(':')) return text
  return quote(text)
}

/**
 * A literal block reads back exactly when its indentation can be detected (the first line starts
 * with a non-blank), no line is only blanks, and nothing is unprintable.
 */
function canBlock(text: string, indent: string): boolean {
  return indent !== '' && text.includes('\n') && /^[^\s]/.test(text) && !NON_PRINTABLE.test(text) && !text.includes('\r') && !/(^|\n)[ \t]+(\n|$)/.test(text)
}

function block(text: string, indent: string): string {
  const trailing = /\n*$/.exec(text)![0].length
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+'
  const body = trailing > 1 ? text.slice(0, text.length - trailing + 1) : text
  const lines = (trailing === 0 ? body : body.slice(0, -1)).split('\n')
  let out = `|${chomp}`
  for (const line of lines) out += line === '' ? '\n' : `\n${indent}${line}`
  if (trailing > 1) out += '\n'.repeat(trailing - 1)
  return out
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object'
}

function scalar(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return canBlock(value, indent) ? block(value, indent) : scalarString(value)
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? '.inf' : value < 0 ? '-.inf' : '.nan'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  throw new TypeError(`cannot emit ${typeof value}`)
}

function emitNode(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isScalar(item)) {
        out.push(`${indent}- ${scalar(item, `${indent}  `)}\n`)
      } else if (Array.isArray(item) ? item.length === 0 : Object.keys(item as object).length === 0) {
        out.push(`${indent}- ${Array.isArray(item) ? '[]' : '{}'}\n`)
      } else {
        // First line of the item on the dash line: "- key: value".
        const nested: string[] = []
        emitNode(item, `${indent}  `, nested)
        const first = nested[0]!
        nested[0] = `${indent}- ${first.slice(indent.length + 2)}`
        out.push(...nested)
      }
    }
    return
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === undefined) continue
    const name = scalarString(key)
    if (isScalar(item)) {
      out.push(`${indent}${name}: ${scalar(item, `${indent}  `)}\n`)
    } else if (Array.isArray(item)) {
      if (item.length === 0) out.push(`${indent}${name}: []\n`)
      else {
        out.push(`${indent}${name}:\n`)
        emitNode(item, `${indent}  `, out)
      }
    } else if (Object.keys(item as object).length === 0) {
      out.push(`${indent}${name}: {}\n`)
    } else {
      out.push(`${indent}${name}:\n`)
      emitNode(item, `${indent}  `, out)
    }
  }
}

/** One YAML document (without the `---` marker) for a mapping, list or scalar. */
export function emitYaml(value: unknown): string {
  if (isScalar(value)) return `${scalar(value, '')}\n`
  if (Array.isArray(value) ? value.length === 0 : Object.keys(value as object).length === 0) return Array.isArray(value) ? '[]\n' : '{}\n'
  const out: string[] = []
  emitNode(value, '', out)
  return out.join('')
}
