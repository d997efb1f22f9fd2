import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {federationSchema} from '../../src/federation/schema.js'
import {REPO} from '../helpers/cli.js'

describe('JSON Schema of the federation file', () => {
  it('is checked in as schema/fedobs.schema.json, identical to what `config schema` prints', () => {
    const committed = JSON.parse(readFileSync(`${REPO}schema/fedobs.schema.json`, 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(federationSchema)))
  })

  it('documents every field with a type and the defaults fedobs applies', () => {
    const cluster = federationSchema.definitions.cluster.properties
    expect(cluster.k8sVersion.default).toBe('1.33')
    expect(federationSchema.definitions.telemetry.properties.retention.default).toBe('15d')
    expect(federationSchema.required).toEqual(['apiVersion', 'name', 'hub'])
  })
})

describe('JSON Schema of `fedobs verify --json`', () => {
  it('is checked in as schema/verify.schema.json, identical to the one the tests validate against', async () => {
    const {verifySchema} = await import('../../src/verify/schema.js')
    const committed = JSON.parse(readFileSync(`${REPO}schema/verify.schema.json`, 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(verifySchema)))
  })
})
