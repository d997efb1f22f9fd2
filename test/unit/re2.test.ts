import {describe, expect, it} from 'vitest'
import {re2Problem} from '../../src/federation/re2.js'
import {ACCEPTED, FLAGGED, REJECTED} from '../helpers/re2-patterns.js'

describe('re2Problem', () => {
  for (const [pattern, message] of REJECTED) {
    it(`rejects ${pattern}: ${message}`, () => {
      const problem = re2Problem(pattern)
      expect(problem).toBeDefined()
      expect(problem).toContain(message)
      expect(problem!.length).toBeLessThan(200)
    })
  }

  for (const [pattern, message] of FLAGGED) {
    it(`reports ${pattern}, which Go accepts: ${message}`, () => {
      expect(re2Problem(pattern)).toContain(message)
    })
  }

  for (const pattern of ACCEPTED) {
    it(`accepts ${pattern}`, () => {
      expect(re2Problem(pattern)).toBeUndefined()
    })
  }

  it('treats a { that starts no repetition as text, as Go does', () => {
    expect(re2Problem('a{b')).toBeUndefined()
    expect(re2Problem('x{01}')).toBeUndefined()
    expect(re2Problem('[0-9]{2,}')).toBeUndefined()
  })

  it('repeats only the last character of \\Q…\\E, as Go does', () => {
    expect(re2Problem('\\QEMP\\E*')).toBeUndefined()
    expect(re2Problem('\\Q\\E*')).toContain('repeats nothing')
  })

  it('matches Unicode class names like Go: any case, no two-word scripts', () => {
    expect(re2Problem('\\p{greek}')).toBeUndefined()
    expect(re2Problem('\\p{Uppercase_Letter}')).toBeUndefined()
    expect(re2Problem('\\p{Old_Italic}')).toContain('not a Unicode class')
  })
})
