import {describe, expect, it} from 'vitest'
import {headerObject} from '../../src/verify/backends.js'

describe('headerObject (request headers for verify backends)', () => {
  it('keeps a header object as it is', () => {
    expect(headerObject({Authorization: 'Bearer t', 'X-Count': 2})).toEqual({Authorization: 'Bearer t', 'X-Count': 2})
  })

  it('reads node’s flat [name, value, …] list into names and values, not array indices', () => {
    expect(headerObject(['Authorization', 'Bearer t', 'Impersonate-User', 'alice'])).toEqual({Authorization: 'Bearer t', 'Impersonate-User': 'alice'})
  })

  it('gives an empty object for no headers', () => {
    expect(headerObject(undefined)).toEqual({})
  })
})
