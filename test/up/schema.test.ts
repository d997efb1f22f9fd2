import {readFileSync} from 'node:fs'
import {Ajv} from 'ajv'
import {describe, expect, it} from 'vitest'
import {REPO} from '../helpers/cli.js'
import {statusSchema} from '../../src/services/status-schema.js'
import {upSchema} from '../../src/services/up-schema.js'

describe('JSON Schemas of `fedobs up --json` and `fedobs status --json`', () => {
  it('are checked in as schema/up.schema.json and schema/status.schema.json, identical to the ones the tests validate against', () => {
    expect(JSON.parse(readFileSync(`${REPO}schema/up.schema.json`, 'utf8'))).toEqual(JSON.parse(JSON.stringify(upSchema)))
    expect(JSON.parse(readFileSync(`${REPO}schema/status.schema.json`, 'utf8'))).toEqual(JSON.parse(JSON.stringify(statusSchema)))
  })

  it('compile, and refuse a document with a field they do not describe', () => {
    const ajv = new Ajv({allErrors: true, strict: false, validateFormats: false})
    const status = ajv.compile(statusSchema)
    const empty = {
      federation: 'f',
      checkedAt: '2026-01-01T00:00:00.000Z',
      clusters: [],
      gateway: {addresses: []},
      data: {queried: false, query: 'up', queries: 0},
      summary: {clusters: 0, existing: 0, ready: 0, drifted: 0},
    }
    expect(status(empty), JSON.stringify(status.errors)).toBe(true)
    expect(status({...empty, extra: 1})).toBe(false)
    const up = ajv.compile(upSchema)
    expect(up({ok: true, federation: 'f'})).toBe(false)
  })
})
