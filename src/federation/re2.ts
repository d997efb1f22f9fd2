/**
 * Whether a user's PII pattern is a regular expression the collector accepts and that does what a
 * PII pattern must: the collector compiles it with Go's `regexp` (RE2 syntax, Perl flags), so this
 * follows Go's `regexp/syntax` parser rule for rule instead of asking JavaScript's RegExp, which
 * accepts look-around and back-references that Go rejects and rejects `(?i)`, `(?P<name>…)`,
 * `\z`, `\Q…\E` and `[[:alpha:]]` that Go accepts.
 *
 * Returns a short description of the first problem, or undefined when the pattern is valid.
 * Besides what Go rejects it reports what Go reads differently from the usual (PCRE, Python, JS)
 * meaning, e.g. `{,3}` (literal text in RE2), and a pattern that matches empty text (the
 * collector would insert the replacement between every character).
 */
export function re2Problem(pattern: string): string | undefined {
  try {
    const tree = new Re2Parser(pattern).parse()
    if (nullable(tree)) {
      return 'it matches empty text, so the replacement would be inserted between every character; make it match at least one character'
    }
    return undefined
  } catch (error) {
    if (error instanceof Re2Error) return error.message
    throw error
  }
}

class Re2Error extends Error {}

/** What the checks need of the parse tree: which parts can match empty text, and repeat counts. */
type Node = {kind: 'char'} | {kind: 'empty'} | {kind: 'concat'; subs: Node[]} | {kind: 'alternate'; subs: Node[]} | {kind: 'repeat'; min: number; max: number; counted: boolean; sub: Node}

function nullable(node: Node): boolean {
  switch (node.kind) {
    case 'char':
      return false
    case 'empty':
      return true
    case 'concat':
      return node.subs.every(nullable)
    case 'alternate':
      return node.subs.some(nullable)
    case 'repeat':
      return node.min === 0 || nullable(node.sub)
  }
}

/** Go's repeatIsValid: nested {n,m} counts may not multiply past 1000 copies of the innermost part. */
function repeatIsValid(node: Node, n: number): boolean {
  if (node.kind === 'repeat' && node.counted) {
    let m = node.max
    if (m === 0) return true
    if (m < 0) m = node.min
    if (m > n) return false
    if (m > 0) n = Math.floor(n / m)
  }
  const subs = node.kind === 'concat' || node.kind === 'alternate' ? node.subs : node.kind === 'repeat' ? [node.sub] : []
  return subs.every((sub) => repeatIsValid(sub, n))
}

const MAX_REPEAT = 1000
/** Go's maxHeight: deeper parse trees are rejected ("expression nests too deeply"). */
const MAX_DEPTH = 1000
const POSIX_CLASSES = new Set(['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit'])
const PERL_CLASSES = new Set(['d', 'D', 's', 'S', 'w', 'W'])
const C_ESCAPES = new Set(['a', 'f', 'n', 'r', 't', 'v'])
const FLAGS = new Set(['i', 'm', 's', 'U'])

const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7'
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c)
const isAlnum = (c: string): boolean => /^[0-9A-Za-z]$/.test(c)

class Re2Parser {
  private i = 0
  private depth = 0

  constructor(private readonly s: string) {}

  parse(): Node {
    const tree = this.alternation()
    if (this.i < this.s.length) throw new Re2Error('unexpected ): it closes no group')
    return tree
  }

  /** A code point at i (surrogate pairs are one character, as Go's runes). */
  private charAt(i: number): string | undefined {
    if (i >= this.s.length) return undefined
    return String.fromCodePoint(this.s.codePointAt(i)!)
  }

  private startsWith(text: string, at = this.i): boolean {
    return this.s.startsWith(text, at)
  }

  private alternation(): Node {
    const subs = [this.concatenation()]
    while (this.s[this.i] === '|') {
      this.i++
      subs.push(this.concatenation())
    }
    return subs.length === 1 ? subs[0]! : {kind: 'alternate', subs}
  }

  private concatenation(): Node {
    const items: Node[] = []
    // The text of the repetition operator just read, if the previous token was one (Go's lastRepeat).
    let lastRepeat = ''
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const start = this.i
      const c = this.s[this.i]!
      let repeat = ''
      if (c === '*' || c === '+' || c === '?') {
        this.i++
        repeat = this.repetition(items, lastRepeat, start, c === '+' ? 1 : 0, c === '?' ? 1 : -1, false)
      } else if (c === '{') {
        const counted = this.countedRepeat()
        if (counted) {
          repeat = this.repetition(items, lastRepeat, start, counted.min, counted.max, true)
        } else {
          const optionalMin = /^\{,(\d+)\}/.exec(this.s.slice(this.i))
          if (optionalMin) {
            throw new Re2Error(`"${optionalMin[0]}" is literal text in RE2, not a repetition: write {0,${optionalMin[1]}}`)
          }
          this.i++
          items.push({kind: 'char'})
        }
      } else if (c === '(') {
        const group = this.group()
        if (group) items.push(group)
      } else if (c === '[') {
        this.characterClass()
        items.push({kind: 'char'})
      } else if (c === '^' || c === '$') {
        this.i++
        items.push({kind: 'empty'})
      } else if (c === '\\') {
        items.push(...[this.escape()].flat())
      } else {
        this.i += this.charAt(this.i)!.length
        items.push({kind: 'char'})
      }
      lastRepeat = repeat
    }
    return items.length === 1 ? items[0]! : {kind: 'concat', subs: items}
  }

  /** Applies a repetition operator (already consumed up to `this.i`) to the last item. */
  private repetition(items: Node[], lastRepeat: string, start: number, min: number, max: number, counted: boolean): string {
    if (this.s[this.i] === '?') this.i++ // non-greedy
    const operator = this.s.slice(start, this.i)
    if (lastRepeat) {
      const stacked = lastRepeat + this.s.slice(start, this.i)
      if (this.s[start] === '+') {
        throw new Re2Error(`possessive quantifier "${stacked}" is not supported by RE2: drop the final +`)
      }
      throw new Re2Error(`"${stacked}" stacks two repetition operators, which RE2 rejects`)
    }
    const sub = items.pop()
    if (!sub) throw new Re2Error(`"${operator}" repeats nothing: put it after a character or group, or escape it (\\${operator[0]})`)
    const node: Node = {kind: 'repeat', min, max, counted, sub}
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
      throw new Re2Error(`"${operator}" repeats too much: RE2 allows at most ${MAX_REPEAT} copies, nested repetitions multiplied`)
    }
    items.push(node)
    return operator
  }

  /** {n}, {n,} or {n,m} at `this.i` (consumed), or undefined when it is literal text to RE2. */
  private countedRepeat(): {min: number; max: number} | undefined {
    const match = /^\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}/.exec(this.s.slice(this.i))
    if (!match) return undefined
    const min = Number(match[1])
    const max = match[2] ? (match[3] === undefined ? -1 : Number(match[3])) : min
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      throw new Re2Error(`the repeat count in "${match[0]}" is over ${MAX_REPEAT}, the most RE2 allows`)
    }
    if (max >= 0 && min > max) throw new Re2Error(`the repeat count "${match[0]}" has its minimum above its maximum`)
    this.i += match[0].length
    return {min, max}
  }

  /** A group at "(": its tree, or undefined for a flag setting such as (?i). */
  private group(): Node | undefined {
    const open = this.i
    if (this.s[open + 1] === '?') {
      const kind = this.perlGroup()
      if (kind === 'flags') return undefined
    } else {
      this.i++
    }
    if (++this.depth > MAX_DEPTH) throw new Re2Error('the expression nests too deeply for RE2')
    const sub = this.alternation()
    this.depth--
    if (this.s[this.i] !== ')') throw new Re2Error(`missing ) to close the group opened at character ${open + 1}`)
    this.i++
    return sub
  }

  /** "(?" at `this.i`: a named capture, a non-capturing group or a flag setting (Go's parsePerlFlags). */
  private perlGroup(): 'group' | 'flags' {
    const t = this.s.slice(this.i)
    const unsupported: Array<[string, string]> = [
      ['(?=', 'look-ahead "(?=" is not supported by RE2: match the text itself, or capture it and put it back in the replacement with ${1}'],
      ['(?!', 'negative look-ahead "(?!" is not supported by RE2'],
      ['(?<=', 'look-behind "(?<=" is not supported by RE2: match the text itself, or capture it and put it back in the replacement with ${1}'],
      ['(?<!', 'negative look-behind "(?<!" is not supported by RE2'],
      ['(?>', 'atomic group "(?>" is not supported by RE2: use (?:…)'],
      ['(?#', 'comment "(?#…)" is not supported by RE2'],
      ['(?P=', 'back-reference "(?P=name)" is not supported by RE2'],
      ['(?P>', 'recursion "(?P>name)" is not supported by RE2'],
      ['(?&', 'recursion "(?&name)" is not supported by RE2'],
      ['(?R', 'recursion "(?R)" is not supported by RE2'],
      ['(?(', 'conditional "(?(…)" is not supported by RE2'],
      ['(?|', 'branch reset "(?|" is not supported by RE2'],
      ["(?'", `named group "(?'name'…)" is not supported by RE2: write (?P<name>…)`],
    ]
    for (const [prefix, message] of unsupported) if (t.startsWith(prefix)) throw new Re2Error(message)
    if (/^\(\?[+-]?\d/.test(t)) throw new Re2Error(`recursion "${/^\(\?[+-]?\d+\)?/.exec(t)![0]}" is not supported by RE2`)

    const startsWithP = t.length > 4 && t[2] === 'P' && t[3] === '<'
    const startsWithName = t.length > 3 && t[2] === '<'
    if (startsWithP || startsWithName) {
      const end = t.indexOf('>')
      if (end < 0) throw new Re2Error(`the named group "${t.slice(0, 12)}…" has no closing >`)
      const name = t.slice(startsWithP ? 4 : 3, end)
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        throw new Re2Error(`the group name "${name}" in "${t.slice(0, end + 1)}" is invalid: use letters, digits and _`)
      }
      this.i += end + 1
      return 'group'
    }

    // Flags, then ":" (a non-capturing group) or ")" (flags for the rest of the group).
    let j = 2
    let negated = false
    let sawFlag = false
    for (;;) {
      const c = this.charAt(this.i + j)
      if (c === undefined) throw new Re2Error(`"${t}" is unfinished: missing : or )`)
      j += c.length
      if (FLAGS.has(c)) {
        sawFlag = true
      } else if (c === '-' && !negated) {
        negated = true
        sawFlag = false
      } else if ((c === ':' || c === ')') && !(negated && !sawFlag)) {
        this.i += j
        return c === ':' ? 'group' : 'flags'
      } else {
        const text = t.slice(0, j)
        if (/^[a-zA-Z]$/.test(c)) throw new Re2Error(`the flag ${c} in "${text}" is not supported by RE2, which knows i, m, s and U`)
        throw new Re2Error(`"${text}" is not a group RE2 knows (it knows (?:…), (?P<name>…), (?<name>…) and flags such as (?i))`)
      }
    }
  }

  /** "\" outside a class: an assertion, a class, a single character, or \Q…\E (one item per character). */
  private escape(): Node | Node[] {
    const next = this.s[this.i + 1]
    switch (next) {
      case 'A':
      case 'b':
      case 'B':
      case 'z':
        this.i += 2
        return {kind: 'empty'}
      case 'C':
        throw new Re2Error('"\\C" (any byte) is not supported by RE2')
      case 'Q': {
        // Literal text: each character its own item, so a following * repeats only the last one.
        const end = this.s.indexOf('\\E', this.i + 2)
        const literal = end < 0 ? this.s.slice(this.i + 2) : this.s.slice(this.i + 2, end)
        this.i = end < 0 ? this.s.length : end + 2
        return Array.from(literal, (): Node => ({kind: 'char'}))
      }
      case 'p':
      case 'P':
        this.unicodeClass()
        return {kind: 'char'}
    }
    if (next !== undefined && PERL_CLASSES.has(next)) {
      this.i += 2
      return {kind: 'char'}
    }
    this.singleCharacterEscape(false)
    return {kind: 'char'}
  }

  /** Go's parseEscape: one character written as an escape; anything else is an error. */
  private singleCharacterEscape(inClass: boolean): void {
    const c = this.charAt(this.i + 1)
    if (c === undefined) throw new Re2Error('the pattern ends with a lone backslash: escape it as \\\\')
    const after = this.s[this.i + 2]
    if (c.length === 1 && c < '\u0080' && !isAlnum(c)) {
      this.i += 2
      return
    }
    if (isOctal(c) && (c === '0' || isOctal(after))) {
      // \0, \012, \12: octal character codes, up to three digits.
      let j = this.i + 2
      while (j < this.i + 4 && isOctal(this.s[j])) j++
      this.i = j
      return
    }
    if (c >= '1' && c <= '9') throw new Re2Error(`back-reference "\\${c}" is not supported by RE2`)
    if (c === 'x') {
      if (after === '{') {
        const match = /^\\x\{([0-9A-Fa-f]+)\}/.exec(this.s.slice(this.i))
        if (match && Number.parseInt(match[1]!, 16) <= 0x10ffff) {
          this.i += match[0].length
          return
        }
      } else if (isHex(after) && isHex(this.s[this.i + 3])) {
        this.i += 4
        return
      }
      throw new Re2Error(`invalid hexadecimal escape "${this.s.slice(this.i, this.i + 4)}": write \\xFF or \\x{10FFFF}`)
    }
    if (C_ESCAPES.has(c)) {
      this.i += 2
      return
    }
    const messages: Record<string, string> = {
      b: '"\\b" inside [...] (a backspace in Perl) is not supported by RE2: write \\x08',
      Z: '"\\Z" is not supported by RE2: write \\z (end of text) or $',
      u: `"\\u" escapes are not supported by RE2: write \\x{${/^\\u\{?([0-9A-Fa-f]{1,6})/.exec(this.s.slice(this.i))?.[1]?.toUpperCase() ?? 'hhhh'}}`,
      k: 'named back-reference "\\k<name>" is not supported by RE2',
      g: 'back-reference "\\g" is not supported by RE2',
      G: '"\\G" is not supported by RE2',
      K: '"\\K" is not supported by RE2: capture what comes before and put it back in the replacement with ${1}',
      c: 'control escapes "\\cX" are not supported by RE2: write \\x01 … \\x1F',
      e: '"\\e" is not supported by RE2: write \\x1B',
    }
    const message = inClass && c === 'b' ? messages.b : c === 'b' ? undefined : messages[c]
    throw new Re2Error(message ?? `the escape "\\${c}" is not supported by RE2`)
  }

  /** \pL, \p{Greek}, \P{^Lu} … at `this.i` (Go's parseUnicodeClass). */
  private unicodeClass(): void {
    let name: string
    let end: number
    if (this.s[this.i + 2] === '{') {
      const close = this.s.indexOf('}', this.i)
      if (close < 0) throw new Re2Error(`the Unicode class "${this.s.slice(this.i, this.i + 12)}" has no closing }`)
      name = this.s.slice(this.i + 3, close)
      end = close + 1
    } else {
      const c = this.charAt(this.i + 2) ?? ''
      name = c
      end = this.i + 2 + c.length
    }
    if (!isUnicodeClassName(name.startsWith('^') ? name.slice(1) : name)) {
      throw new Re2Error(`"${this.s.slice(this.i, end)}" is not a Unicode class RE2 knows (such as \\pL, \\p{Lu}, \\p{Greek})`)
    }
    this.i = end
  }

  /** [...] at `this.i` (Go's parseClass). */
  private characterClass(): void {
    const open = this.i
    this.i++
    if (this.s[this.i] === '^') this.i++
    let first = true
    while (this.i >= this.s.length || this.s[this.i] !== ']' || first) {
      if (this.i >= this.s.length) throw new Re2Error(`missing ] to close the class opened at character ${open + 1}`)
      first = false
      const t = this.s.slice(this.i)
      if (t.length > 2 && t.startsWith('[:')) {
        const close = t.indexOf(':]', 2)
        if (close >= 0) {
          const name = t.slice(2, close)
          if (!POSIX_CLASSES.has(name.startsWith('^') ? name.slice(1) : name)) {
            throw new Re2Error(`"[:${name}:]" is not a POSIX class RE2 knows (such as [:alpha:], [:digit:])`)
          }
          this.i += close + 2
          continue
        }
      }
      if (this.s[this.i] === '\\' && (this.s[this.i + 1] === 'p' || this.s[this.i + 1] === 'P')) {
        this.unicodeClass()
        continue
      }
      if (this.s[this.i] === '\\' && PERL_CLASSES.has(this.s[this.i + 1] ?? '')) {
        this.i += 2
        continue
      }
      const rangeStart = this.i
      const lo = this.classCharacter()
      if (this.s[this.i] === '-' && this.i + 1 < this.s.length && this.s[this.i + 1] !== ']') {
        this.i++
        const hi = this.classCharacter()
        if (hi < lo) throw new Re2Error(`the range "${this.s.slice(rangeStart, this.i)}" runs backwards`)
      }
    }
    this.i++
  }

  /** One character of a class, escaped or not; its code point. */
  private classCharacter(): number {
    if (this.s[this.i] !== '\\') {
      const c = this.charAt(this.i)!
      this.i += c.length
      return c.codePointAt(0)!
    }
    const start = this.i
    this.singleCharacterEscape(true)
    return escapedCodePoint(this.s.slice(start, this.i))
  }
}

/** The code point a single-character escape stands for (for range order checks). */
function escapedCodePoint(escape: string): number {
  const body = escape.slice(1)
  if (/^[0-7]+$/.test(body)) return Number.parseInt(body, 8)
  if (body.startsWith('x{')) return Number.parseInt(body.slice(2, -1), 16)
  if (body.startsWith('x')) return Number.parseInt(body.slice(1), 16)
  const c: Record<string, number> = {a: 7, f: 12, n: 10, r: 13, t: 9, v: 11}
  return c[body] ?? body.codePointAt(0)!
}

/** Go's unicode.Categories and unicode.CategoryAliases, as regexp/syntax looks them up (canonicalName). */
const CATEGORIES = new Set(
  [
    ...'C Cc Cf Cn Co Cs L LC Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
    ...'Cased_Letter Close_Punctuation Combining_Mark Connector_Punctuation Control Currency_Symbol Dash_Punctuation Decimal_Number Enclosing_Mark Final_Punctuation Format Initial_Punctuation Letter Letter_Number Line_Separator Lowercase_Letter Mark Math_Symbol Modifier_Letter Modifier_Symbol Nonspacing_Mark Number Open_Punctuation Other Other_Letter Other_Number Other_Punctuation Other_Symbol Paragraph_Separator Private_Use Punctuation Separator Space_Separator Spacing_Mark Surrogate Symbol Titlecase_Letter Unassigned Uppercase_Letter cntrl digit punct'.split(
      ' ',
    ),
    ...['Any', 'Assigned', 'ASCII'],
  ].map(canonicalName),
)

/** Go's canonicalName: no _, - or space; first letter upper case, the rest lower case. */
function canonicalName(name: string): string {
  const letters = name.replace(/[_\- ]/g, '')
  return letters.slice(0, 1).toUpperCase() + letters.slice(1).toLowerCase()
}

/**
 * What Go accepts in \p{…}: a general category (short or long name) or a script, any case, by
 * its canonical name (so Go rejects two-word scripts such as Old_Italic). JavaScript's script
 * table stands in for Go's (both follow the Unicode data).
 */
function isUnicodeClassName(name: string): boolean {
  const canonical = canonicalName(name)
  if (canonical === '') return false
  if (CATEGORIES.has(canonical)) return true
  if (!/^[A-Za-z]+$/.test(canonical)) return false
  try {
    new RegExp(`\\p{Script=${canonical}}`, 'u')
    return true
  } catch {
    return false
  }
}
