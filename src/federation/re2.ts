/**
 * Whether a user's PII pattern is a regular expression the collector (Go's RE2) accepts.
 * Returns a short description of the first problem, or undefined when the pattern is valid.
 */
export function re2Problem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u')
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: /, '')
  }
  return undefined
}
