import {describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {renderEdge, renderHub} from '../../src/render/render.js'
import {exampleFederation} from '../helpers/federation.js'

/** Our emitter must read back, through a real YAML parser, to exactly the data it was given. */
function roundTrip(value: unknown): unknown {
  const text = emitYaml(value)
  const docs = parseAllDocuments(text) as Array<{errors: unknown[]; toJS(): unknown}>
  expect(docs).toHaveLength(1)
  expect(docs[0]!.errors).toEqual([])
  return docs[0]!.toJS()
}

const TRICKY = [
  '',
  ' ',
  'a',
  'true',
  'False',
  'yes',
  'NO',
  'on',
  'null',
  '~',
  'Null',
  '1',
  '0.5',
  '-1',
  '+3',
  '1e3',
  '0x1F',
  '.inf',
  '.5',
  '2026-11-27',
  'a: b',
  'a:',
  ':a',
  'a #b',
  '#a',
  '- a',
  '-a',
  '? a',
  '@a',
  '`a',
  '!a',
  '&a',
  '*a',
  '|',
  '>',
  '%a',
  '"a"',
  "'a'",
  'a"b',
  "a'b",
  '{a}',
  '[a]',
  'a,b',
  'a, b',
  'http://x:9/y',
  '${env:POD_NAME}',
  '${{ x }}',
  '{{ x }}',
  'a\nb',
  'a\n',
  'a\n\n',
  '\na',
  ' a\nb',
  'a\n b',
  'a\n  \nb',
  'a\tb',
  '\ta',
  'a\r\nb',
  'line1\nline2: x\n---\nkind: Secret\n',
  'x\u2028y',
  '\u00e9t\u00e9',
  '\u{1F600}',
  'a\u0000b',
  '---',
  '...',
  '- - -',
]

describe('YAML emitter', () => {
  it('round-trips the whole rendered hub and edge', () => {
    const federation = exampleFederation()
    const objects = [...renderHub(federation).objects, ...renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '10.1.2.3:4317'}).objects]
    for (const object of objects) expect(roundTrip(object)).toEqual(JSON.parse(JSON.stringify(object)))
  })

  for (const text of TRICKY) {
    it(`round-trips ${JSON.stringify(text)} as key, value, list item and nested block`, () => {
      const value = {[text === '' ? 'empty' : text]: text, list: [text, {inner: text}], nested: {deep: {deeper: text}}}
      expect(roundTrip(value)).toEqual(value)
    })
  }

  it('round-trips random strings (fuzz, fixed seed)', () => {
    const alphabet = 'ab :#-?|>\'"{}[],&*!%@`\n\t\\ 0.9yYnN~$e\u00e9\u2028'
    let seed = 42
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let i = 0; i < 3000; i++) {
      let text = ''
      const length = Math.floor(random() * 12)
      for (let j = 0; j < length; j++) text += alphabet.charAt(Math.floor(random() * alphabet.length))
      const value = {k: text, l: [text], m: {n: text}}
      expect(roundTrip(value), JSON.stringify(text)).toEqual(value)
    }
  })

  it('keeps numbers, booleans, null and empty collections typed', () => {
    const value = {n: 3, f: 1.5, neg: -2, t: true, f2: false, z: null, e: [], o: {}, nested: [[1, 2], [], {}]}
    expect(roundTrip(value)).toEqual(value)
  })

  it('writes configuration files as readable literal blocks', () => {
    const text = emitYaml({data: {'config.yaml': 'receivers:\n  otlp: {}\n'}})
    expect(text).toBe('data:\n  config.yaml: |\n    receivers:\n      otlp: {}\n')
    expect(parse(text).data['config.yaml']).toBe('receivers:\n  otlp: {}\n')
  })
})
