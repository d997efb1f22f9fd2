import {readFileSync} from 'node:fs'
import {Ajv, type ValidateFunction} from 'ajv'
import {expect} from 'vitest'
import {REPO} from './cli.js'

const ajv = new Ajv({allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true})
ajv.addFormat('date-time', (value: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)))
const compiled = new Map<string, ValidateFunction>()

/** The validator of schema/<name>.schema.json: the checked-in file, as a user would use it. */
export function schemaValidator(name: string): ValidateFunction {
  let validate = compiled.get(name)
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(`${REPO}schema/${name}.schema.json`, 'utf8')) as object)
    compiled.set(name, validate)
  }
  return validate
}

/**
 * Parse a command's --json stdout and check it against schema/<name>.schema.json (e.g.
 * `cluster-list`); the test fails with Ajv's errors when it does not match. Returns the document.
 */

export function expectDocument(name: string, stdout: string): any {
  const document = JSON.parse(stdout) as unknown
  const validate = schemaValidator(name)
  const valid = validate(document)
  expect(valid, `${name}: ${ajv.errorsText(validate.errors, {separator: '\n'})}\n${stdout.slice(0, 2000)}`).toBe(true)
  return document
}
