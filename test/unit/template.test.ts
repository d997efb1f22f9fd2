import {describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {fill, parseTemplateText} from '../../src/render/template.js'
import {stringify} from 'yaml'

const TEMPLATE = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: \${{ name }}
  labels:
    cluster: \${{ name }}
data:
  greeting: hello \${{ name }}, from \${{ region }}
  port: \${{ port }}
  optional: \${{ missing? }}
  collector: \${env:K8S_NODE_IP}
list:
  - \${{ name }}
  - \${{ missing? }}
  - fixed
`

const HOSTILE = ['a"b', "a'b", 'key: value', 'x # comment', 'line1\nline2: injected', '{{ evil }}', '${{ name }}', '- item', '--- \nkind: Secret', 'a"b})', '&anchor *alias', '!!binary AAAA']

describe('safe templates', () => {
  const docs = parseTemplateText(TEMPLATE, 'test')

  it('fills whole-scalar placeholders with typed values', () => {
    const [out] = fill(docs, {name: 'edge-1', region: 'us-ord', port: 4317}) as Array<Record<string, any>>
    expect(out!.metadata.name).toBe('edge-1')
    expect(out!.data.port).toBe(4317)
    expect(out!.data.greeting).toBe('hello edge-1, from us-ord')
  })

  it('drops optional keys and list items whose value is undefined', () => {
    const [out] = fill(docs, {name: 'edge-1', region: 'us-ord', port: 1}) as Array<Record<string, any>>
    expect(out!.data).not.toHaveProperty('optional')
    expect(out!.list).toEqual(['edge-1', 'fixed'])
  })

  it('leaves collector ${env:...} references alone', () => {
    const [out] = fill(docs, {name: 'n', region: 'r', port: 1}) as Array<Record<string, any>>
    expect(out!.data.collector).toBe('${env:K8S_NODE_IP}')
  })

  it('fails loudly on a missing required value', () => {
    expect(() => fill(docs, {region: 'r', port: 1})).toThrow(/no value for name/)
  })

  for (const hostile of HOSTILE) {
    it(`a value like ${JSON.stringify(hostile)} cannot change the structure`, () => {
      const [out] = fill(docs, {name: hostile, region: hostile, port: 1}) as Array<Record<string, any>>
      // Same keys as with a harmless value.
      const [reference] = fill(docs, {name: 'x', region: 'y', port: 1}) as Array<Record<string, any>>
      expect(Object.keys(out!)).toEqual(Object.keys(reference!))
      expect(Object.keys(out!.data)).toEqual(Object.keys(reference!.data))
      expect(out!.list).toHaveLength(2)
      expect(out!.metadata.name).toBe(hostile)
      expect(out!.data.greeting).toBe(`hello ${hostile}, from ${hostile}`)
      // Serialised and parsed back, it is still one document with the same value.
      const text = stringify(out)
      const back = parseAllDocuments(text)
      expect(Array.isArray(back) ? back.length : 0).toBe(1)
      expect((back as Array<{toJS(): any}>)[0]!.toJS().metadata.name).toBe(hostile)
    })
  }

  it('refuses placeholders in keys', () => {
    const bad = parseTemplateText('x:\n  ${{ k }}: 1\n', 'bad')
    expect(() => fill(bad, {k: 'a'})).toThrow(/not allowed in keys/)
  })
})
