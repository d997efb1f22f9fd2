/**
 * PII scrubbing at the edge: a `transform` processor (OTTL) for the agents, so that e-mail
 * addresses, US social security numbers, payment card numbers and phone numbers are replaced
 * before data leaves the cluster. Pure: the federation's `security.pii` in, a processor config out.
 *
 * What is scrubbed: string log bodies, the top-level string values of map bodies, and the string
 * values of log record, span, span event and resource attributes. What never is: the keys fedobs
 * identifies and routes data by (IDENTITY_KEYS, IDENTITY_KEY_PREFIXES) and the user's allowKeys.
 *
 * How: one regular expression finds every built-in kind in one pass over a value and wraps each
 * match in sentinels, with the match in the field of its kind (replace_pattern can only expand
 * groups, so an alternative's group is empty unless it matched). A second statement, only for
 * values that hold a sentinel, splits the value at them and replaces each wrapped match by
 * [REDACTED:<kind>], except a card number that fails the Luhn check (IsValidLuhn) and any match in
 * a protected key, which get their text back. That second step needs OTTL's lambda functions
 * (Split, Reduce, When, MapEach, Any; Filter with extra patterns): the feature gate
 * `ottl.functions.enableLambda`.
 *
 * Why so: replace_pattern replaces every match the same way, while card numbers must be checked
 * one by one, and replace_all_patterns has no key filter. One combined pass instead of one per
 * kind also divides the processor's cost (Go's regexp scans a value once per pattern).
 *
 * The sentinels are Unicode noncharacters (U+FDD0, U+FDD1), which Unicode reserves for internal
 * use and which do not occur in interchanged text; a value that held them loses them.
 * Regular expressions are RE2 (Go) with no look-around: where a pattern needs its left context
 * ("not after a digit or letter") it captures that one character and puts it back.
 */
import type {SecuritySpec} from '../federation/model.js'

export interface PiiProcessor {
  /** Component id to list in the pipelines, e.g. `transform/pii`. */
  name: string
  /** The processor's configuration (under `processors.<name>`). */
  config: Record<string, unknown>
  /** Collector feature gates the configuration needs: `--feature-gates=<a>,<b>`. */
  featureGates: string[]
}

export const PII_PROCESSOR_NAME = 'transform/pii'
export const PII_FEATURE_GATES = ['ottl.functions.enableLambda']

/**
 * Keys fedobs relies on: cluster identity (the Loki index, the hub's registry), the gateway's
 * receive stamp, service identity (Prometheus job, Tempo service), the pod-log file attributes
 * and everything k8s_attributes and the container runtime stamp. Their values are names and ids,
 * never personal data, and a scrubbed one would misroute data or split series.
 */
export const IDENTITY_KEYS = [
  'cluster.id',
  'cluster.role',
  'hub.received_at',
  'service.name',
  'service.namespace',
  'service.instance.id',
  'service.version',
  'host.name',
  'host.id',
  'log.file.path',
  'log.file.name',
  'log.iostream',
  'logtag',
] as const
export const IDENTITY_KEY_PREFIXES = ['k8s.', 'container.'] as const

export const redaction = (name: string): string => `[REDACTED:${name}]`

// ---------------------------------------------------------------- the detectors (RE2)

// The local part may hold an apostrophe inside (o'brien@), never at its start (email='x@y.z').
const EMAIL = "[A-Za-z0-9._%+-]+(?:'[A-Za-z0-9._%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,24}"

/**
 * Left context of the numbers: start of text or a character that does not continue a number, a
 * word or an id (so 0.4532015112830366, v4111111111111111 or +4111… are no candidates). A dash is
 * a separator: card-4111…, call-202-555-0143.
 */
const NUMBER_START = '^|[^0-9A-Za-z_.+]'

/**
 * Card numbers by their printed shapes: 13-19 digits starting 2-6, bare or grouped 4-4-4-4,
 * 4-6-5 or 4-6-4 with spaces or dashes. Redacted only when the digits have the prefix and length
 * of a major brand (CARD_BRANDS) and pass Luhn, so most ids and epoch timestamps (which start 1)
 * never are.
 */
const CARD = '[2-6][0-9]{3}(?:[ -][0-9]{4}){3}|3[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5}|[2-6][0-9]{12,18}'
/** The major brands: the first four digits, and how many digits follow. */
const CARD_BRANDS: Array<[prefix: string, rest: string]> = [
  // 16 digits: Visa 4, Mastercard 51-55 and 2221-2720, Discover 6011, 644-649, 65, UnionPay 62, JCB 3528-3589
  ['4[0-9]{3}|5[1-5][0-9]{2}|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720|6011|64[4-9][0-9]|65[0-9]{2}|62[0-9]{2}|35(?:2[89]|[3-8][0-9])', '{12}'],
  // 17-19 digits: Visa, Discover, UnionPay, JCB
  ['4[0-9]{3}|6011|64[4-9][0-9]|65[0-9]{2}|62[0-9]{2}|35(?:2[89]|[3-8][0-9])', '{13,15}'],
  ['3[47][0-9]{2}', '{11}'], // American Express, 15
  ['3(?:0[0-5]|[689][0-9])[0-9]', '{10}'], // Diners Club, 14
  ['4[0-9]{3}', '{9}'], // Visa, 13
]

/**
 * SSNs as written, 123-45-6789 or 123 45 6789, and nine digits in a row, which are an SSN only
 * after the word (SSN: 123456789, {"ssn":"123456789"}) or in an attribute named so (customer.ssn).
 * SSN_VALID then checks the SSA's numbering: area 001-899 except 666, group 01-99, serial
 * 0001-9999, so 000-12-3456 or 987-65-4321 stay.
 */
const SSN = '[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{9}'
const SSN_VALID = '^(?:00[1-9]|0[1-9][0-9]|[1-578][0-9]{2}|6[0-57-9][0-9]|66[0-57-9])[ -]?(?:0[1-9]|[1-9][0-9])[ -]?(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})$'
const SSN_WORD_BEFORE = `(?i)\\b(?:ssn|social[ _.-]?security(?:[ _.-]?(?:number|no))?)["']?\\s*[:=#]?\\s*["']?$`
const SSN_KEY = '(?i)(?:^|[._-])(?:ssn|social[._-]?security(?:[._-]?(?:number|no))?)$'

/** North American numbers: (202) 555-0143, 202-555-0143, 202.555.0143, +1 202 555 0143, 1-202-555-0143 x123. */
const NANP = '(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}(?: ?(?:x|ext\\.?|extension) ?[0-9]{1,6})?'
/** International form: +country code, 8-15 digits in all, grouped by spaces, dots, dashes or parentheses. */
const INTERNATIONAL = '\\+[1-9](?:[ .()-]{0,2}[0-9]){7,14}'

/** Sentinels: OPEN before and after a wrapped match, FIELD before each kind's field inside. */
const OPEN = '\uFDD0'
const FIELD = '\uFDD1'

/**
 * The one scan: `(email)\b|(context)(?:(card)|(ssn)|(phone)|(phone))\b`, and the replacement that
 * puts the context back and wraps the match: OPEN FIELD email FIELD card FIELD ssn FIELD phone OPEN
 * (a group that did not match expands to nothing). The numbers share one context so that Go's
 * regexp scans with its backtracker at about a third of the cost of one context per alternative;
 * the exact checks (brands, Luhn, SSN numbering and words) run afterwards, on matches only.
 */
const SCAN = `(${EMAIL})\\b|(${NUMBER_START})(?:(${CARD})|(${SSN})|(${NANP})|(${INTERNATIONAL}))\\b`
const WRAP = `\${2}${OPEN}${FIELD}\${1}${FIELD}\${3}${FIELD}\${4}${FIELD}\${5}\${6}${OPEN}`

// ---------------------------------------------------------------- resolving wrapped matches (OTTL)

/**
 * A wrapped part is FIELD email FIELD card FIELD ssn FIELD phone with one field not empty, so
 * its kind shows in how many FIELDs it starts with, and its text is the part without them:
 * HasPrefix and TrimPrefix/TrimSuffix, cheaper than splitting it.
 */
const fieldMarks = (n: number): string => q(FIELD.repeat(n))
const withoutDashes = (text: string): string => `Reduce(Split(${text}, "-"), "", (digits, _, group) => Concat([digits, group], ""))`

/** A brand's prefix and length, on a candidate as found (a space or dash may separate digits). */
const CARD_BRAND = `^(?:${CARD_BRANDS.map(([prefix, rest]) => `(?:${prefix})(?:[ -]?[0-9])${rest}`).join('|')})$`

/**
 * A wrapped part as it must leave: [REDACTED:<kind>], or its own text when it is a card number
 * of no brand or failing Luhn, or not an SSN. `before` is the value's text up to the part; `key`,
 * for attributes, the attribute's key.
 */
function redacted(part: string, before: string, key?: string): string {
  const card = `TrimSuffix(TrimPrefix(${part}, ${fieldMarks(2)}), ${fieldMarks(2)})`
  const ssn = `TrimSuffix(TrimPrefix(${part}, ${fieldMarks(3)}), ${fieldMarks(1)})`
  const named = `IsMatch(${before}, ${q(SSN_WORD_BEFORE)})${key ? ` or IsMatch(${key}, ${q(SSN_KEY)})` : ''}`
  return (
    `When(() => not HasPrefix(${part}, ${fieldMarks(2)}), ${q(redaction('email'))}, ` +
    `When(() => not HasPrefix(${part}, ${fieldMarks(3)}), When(() => IsMatch(${card}, ${q(CARD_BRAND)}) and IsValidLuhn(${withoutDashes(card)}), ${q(redaction('card'))}, ${card}), ` +
    `When(() => not HasPrefix(${part}, ${fieldMarks(4)}), When(() => IsMatch(${ssn}, ${q(SSN_VALID)}) and (not IsMatch(${ssn}, "^[0-9]{9}$") or ${named}), ${q(redaction('ssn'))}, ${ssn}), ` +
    `${q(redaction('phone'))})))`
  )
}

/** A wrapped part with its text back (the fields joined: only one is not empty). */
const restored = (part: string): string => `Reduce(Split(${part}, ${q(FIELD)}), "", (text, _, f) => Concat([text, f], ""))`

/** `value` split at OPEN, each wrapped part mapped by `resolve(part, textBefore)`, joined again. */
function resolveAll(value: string, resolve: (part: string, before: string) => string): string {
  return `Reduce(Split(${value}, ${q(OPEN)}), "", (out, _, part) => Concat([out, When(() => HasPrefix(part, ${q(FIELD)}), ${resolve('part', 'out')}, part)], ""))`
}

// ---------------------------------------------------------------- the processor

interface UserRule {
  regex: string
  replacement: string
}

export function piiProcessor(pii: SecuritySpec['pii']): PiiProcessor | undefined {
  if (!pii.enabled) return undefined
  // User patterns first: a pattern written for a site's own ids wins over a built-in look-alike.
  const userRules: UserRule[] = pii.patterns.map((p) => ({regex: p.regex, replacement: p.replacement ?? redaction(p.name)}))
  const protectedKeys = protectedKeyRegex(pii.allowKeys)
  const maps = (...targets: MapTarget[]): string[] => targets.flatMap((t) => mapStatements(t, userRules, protectedKeys))
  const config = {
    error_mode: 'ignore',
    log_statements: [
      {statements: maps({map: 'resource.attributes', cache: 'resource.cache'})},
      {
        statements: [...stringStatements('log.body', userRules), ...maps({map: 'log.attributes', cache: 'log.cache'}, {map: 'log.body', cache: 'log.cache', when: 'IsMap(log.body)'})],
      },
    ],
    trace_statements: [
      {statements: maps({map: 'resource.attributes', cache: 'resource.cache'})},
      {statements: maps({map: 'span.attributes', cache: 'span.cache'})},
      {statements: maps({map: 'spanevent.attributes', cache: 'spanevent.cache'})},
    ],
  }
  return {name: PII_PROCESSOR_NAME, config: escapeDollars(config) as Record<string, unknown>, featureGates: [...PII_FEATURE_GATES]}
}

/** A map of a context whose top-level string values are scrubbed. */
interface MapTarget {
  map: string
  cache: string
  /** Extra condition, e.g. that the body is a map. */
  when?: string
}

function stringStatements(target: string, userRules: UserRule[]): string[] {
  // replace_pattern leaves a value that is not a string (a map body) alone.
  return [
    ...userRules.map((r) => `replace_pattern(${target}, ${q(r.regex)}, ${q(r.replacement)})`),
    `replace_pattern(${target}, ${q(SCAN)}, ${q(WRAP)})`,
    `set(${target}, ${resolveAll(target, (part, before) => redacted(part, before))}) where IsString(${target}) and IsMatch(${target}, ${q(OPEN)})`,
  ]
}

function mapStatements(target: MapTarget, userRules: UserRule[], protectedKeys: string): string[] {
  const {map, cache} = target
  const where = (...conditions: string[]): string => {
    const all = [target.when, ...conditions].filter(Boolean)
    return all.length > 0 ? ` where ${all.join(' and ')}` : ''
  }
  const wrapped = (v: string): string => `IsString(${v}) and IsMatch(${v}, ${q(OPEN)})`
  const resolve =
    `set(${map}, MapEach(${map}, (k, v) => When(() => ${wrapped('v')}, ` +
    `When(() => IsMatch(k, ${q(protectedKeys)}), ${resolveAll('v', restored)}, ${resolveAll('v', (part, before) => redacted(part, before, 'k'))}), v)))` +
    where(`Any(${map}, (_, v) => ${wrapped('v')})`)
  if (userRules.length === 0) {
    return [`replace_all_patterns(${map}, "value", ${q(SCAN)}, ${q(WRAP)})${where()}`, resolve]
  }
  // A user pattern replaces for good: protected values are set aside first and put back last.
  const keep = `${cache}["fedobs.pii.keep"]`
  return [
    `set(${keep}, Filter(${map}, (k, _) => IsMatch(k, ${q(protectedKeys)})))${where()}`,
    ...userRules.map((r) => `replace_all_patterns(${map}, "value", ${q(r.regex)}, ${q(r.replacement)})${where()}`),
    `replace_all_patterns(${map}, "value", ${q(SCAN)}, ${q(WRAP)})${where()}`,
    resolve,
    `merge_maps(${map}, ${keep}, "upsert")${where()}`,
  ]
}

/** ^(?:identity keys|allowKeys)$ as one RE2 expression. */
function protectedKeyRegex(allowKeys: string[]): string {
  const exact = [...IDENTITY_KEYS, ...allowKeys].map(escapeRegex)
  const prefixes = IDENTITY_KEY_PREFIXES.map((p) => `${escapeRegex(p)}.*`)
  return `^(?:${[...exact, ...prefixes].join('|')})$`
}

function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}

/** An OTTL string literal (Go's strconv.Unquote reads it back); noncharacters as \u escapes. */
function q(text: string): string {
  let out = '"'
  for (const c of text) {
    const code = c.codePointAt(0)!
    if (c === '"' || c === '\\') out += `\\${c}`
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (code >= 0xfdd0 && code <= 0xfdef) out += `\\u${code.toString(16).toUpperCase()}`
    else out += c
  }
  return `${out}"`
}

/** The collector expands ${…} in every configuration string: a literal $ is written $$. */
function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$')
  if (Array.isArray(value)) return value.map(escapeDollars)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]))
  return value
}
