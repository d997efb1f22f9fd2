import {describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {renderEdge, renderHub} from '../../src/render/render.js'
import {toYamlStream} from '../../src/render/write.js'
import {exampleFederation} from '../helpers/federation.js'

/**
 * The complete rendered output of the seed federation, as a reviewed snapshot, and parsed back to
 * the very same objects (what we print is what we mean).
 */
const federation = exampleFederation()
const cases = [
  ['hub', renderHub(federation)],
  ['edge', renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '172.238.181.107:4317'})],
] as const

describe.each(cases)('rendered %s of the seed federation', (role, rendering) => {
  const text = toYamlStream(rendering.objects)

  it('matches the reviewed snapshot', async () => {
    await expect(text).toMatchFileSnapshot(`__snapshots__/${role}.yaml`)
  })

  it('parses back to the same objects', () => {
    const docs = parseAllDocuments(text)
    expect(Array.isArray(docs)).toBe(true)
    const objects = (docs as Array<{errors: unknown[]; toJS(): unknown}>).map((d) => {
      expect(d.errors).toEqual([])
      return d.toJS()
    })
    expect(objects).toEqual(JSON.parse(JSON.stringify(rendering.objects)))
  })

  it('is deterministic', () => {
    const again = role === 'hub' ? renderHub(federation) : renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '172.238.181.107:4317'})
    expect(toYamlStream(again.objects)).toBe(text)
  })
})
