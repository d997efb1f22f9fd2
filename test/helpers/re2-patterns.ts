/**
 * Regular expressions for PII patterns, by how Go's regexp (RE2 syntax, what the collector
 * compiles) takes them: the unit tests of re2Problem use them, and the real-collector test checks
 * that the collector agrees.
 */
/** Patterns Go's regexp (RE2 syntax) rejects, and what the message must say. */
export const REJECTED: Array<[pattern: string, message: string]> = [
  ['EMP-(?=[0-9]{6})', 'look-ahead "(?="'],
  ['EMP-(?![0-9])', 'negative look-ahead "(?!"'],
  ['(?<=id=)[0-9]+', 'look-behind "(?<="'],
  ['(?<!x)[0-9]+', 'negative look-behind "(?<!"'],
  ['([0-9])\\1', 'back-reference "\\1"'],
  ['(?P<d>[0-9])(?P=d)', 'back-reference "(?P=name)"'],
  ['(?<d>[0-9])\\k<d>', 'named back-reference "\\k<name>"'],
  ['[0-9]++', 'possessive quantifier "++"'],
  ['[0-9]*+', 'possessive quantifier "*+"'],
  ['[0-9]{3}+', 'possessive quantifier "{3}+"'],
  ['(?>[0-9]+)x', 'atomic group "(?>"'],
  ['[0-9]+\\Z', '"\\Z" is not supported by RE2: write \\z'],
  ['caf\\u00e9', 'write \\x{00E9}'],
  ["(?'id'[0-9]+)", 'write (?P<name>…)'],
  ['(?<my-id>[0-9]+)', 'the group name "my-id"'],
  ['(?x) [0-9]+ # digits', 'the flag x'],
  ['(?#comment)[0-9]+', 'comment "(?#…)"'],
  ['(a|b)(?1)', 'recursion "(?1)"'],
  ['(?(1)a|b)', 'conditional'],
  ['[0-9]**', 'stacks two repetition operators'],
  ['*[0-9]', '"*" repeats nothing'],
  ['EMP-[0-9]{1001}', 'over 1000'],
  ['(EMP-[0-9]{100}){20}', 'repeats too much'],
  ['[0-9]{6,3}', 'minimum above its maximum'],
  ['EMP-[0-9', 'missing ]'],
  ['(EMP-[0-9]+', 'missing )'],
  ['EMP-[0-9]+)', 'unexpected )'],
  ['EMP-\\', 'lone backslash'],
  ['[z-a]', 'runs backwards'],
  ['[[:word:][:digits:]]', '"[:digits:]" is not a POSIX class'],
  ['\\p{Emoji}', 'not a Unicode class'],
  ['[\\b]', 'write \\x08'],
  ['\\e\\[31m', 'write \\x1B'],
  ['\\cA', 'control escapes'],
]

/** Patterns Go accepts but that do not do what a PII pattern's author meant: fedobs reports them. */
export const FLAGGED: Array<[pattern: string, message: string]> = [
  ['EMP-\\d{,6}', '"{,6}" is literal text in RE2, not a repetition: write {0,6}'],
  ['[0-9]*', 'matches empty text'],
  ['(?i)(ssn)?', 'matches empty text'],
]

/** Patterns Go accepts, several of which JavaScript's RegExp rejects or reads differently. */
export const ACCEPTED = [
  'EMP-[0-9]{6}',
  '(?i)employee[ _-]?id[:=]\\s*[0-9]+',
  '(?P<id>[0-9]{6})',
  '(?<id>[0-9]{6})',
  '(?i:acct)-(?s:.)[0-9]+',
  '(?U)x.+y',
  '[0-9]+\\z',
  '\\A[0-9]+',
  '\\QEMP.ID\\E-[0-9]+',
  '[[:alpha:]][[:digit:]]{4}',
  '[[:^space:]]+@corp',
  '\\pL\\p{Greek}\\p{^Han}\\PN',
  '\\x{00E9}\\x41\\101',
  'a{3,}b{',
  '[]a-]+',
  '\\_[0-9]+',
  'x\\b[0-9]{4}\\B',
]
