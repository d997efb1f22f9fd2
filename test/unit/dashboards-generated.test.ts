import {readFileSync, readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {DASHBOARDS, dashboardText} from '../../dashboards/src/index.js'

const DIR = new URL('../../dashboards/', import.meta.url)

/** The seed's four dashboards (deployment-log §4.6): file, UID and title are fixed. */
const SEED = [
  {file: 'federation-overview.json', uid: 'federation-overview', title: 'Federation Overview'},
  {file: 'bert-inference.json', uid: 'bert-inference-main', title: 'BERT Inference'},
  {file: 'gpu-health.json', uid: 'gpu-health', title: 'GPU Health'},
  {file: 'k8s-resources.json', uid: 'k8s-resources', title: 'Kubernetes Resources'},
]

describe('the dashboards in dashboards/ (typed sources in dashboards/src)', () => {
  it('are exactly the four seed dashboards, no other JSON file', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'))
    expect(files.sort()).toEqual(SEED.map((s) => s.file).sort())
    expect(Object.keys(DASHBOARDS).sort()).toEqual(SEED.map((s) => s.file).sort())
  })

  it.each(SEED)('$file is byte for byte what its source builds (run npm run dashboards after a change)', ({file}) => {
    const committed = readFileSync(new URL(file, DIR), 'utf8')
    const built = dashboardText(DASHBOARDS[file]!)
    // Parsed first: a difference shows as a readable diff of the dashboard, not of one long string.
    expect(JSON.parse(committed), `dashboards/${file} differs from dashboards/src: run npm run dashboards`).toEqual(JSON.parse(built))
    expect(committed).toBe(built)
  })

  it.each(SEED)('$file keeps the seed UID and title, with unique panel ids and the cluster variable', ({file, uid, title}) => {
    const board = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'))
    expect(board.uid).toBe(uid)
    expect(board.title).toBe(title)
    const ids = (board.panels as Array<{id: number}>).map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    const cluster = board.templating.list.find((v: {name: string}) => v.name === 'cluster')
    expect(cluster).toMatchObject({type: 'query', multi: true, includeAll: true, allValue: '.*', refresh: 2, datasource: {uid: 'prometheus'}})
    expect(cluster.definition).toBe('label_values(up, cluster_id)')
  })

  it('has about the seed panel counts (18/24/23/23 panels besides rows)', () => {
    const counts = Object.fromEntries(SEED.map(({file}) => [file, (JSON.parse(readFileSync(new URL(file, DIR), 'utf8')).panels as Array<{type: string}>).filter((p) => p.type !== 'row').length]))
    expect(counts['federation-overview.json']).toBeGreaterThanOrEqual(18)
    expect(counts['bert-inference.json']).toBeGreaterThanOrEqual(24)
    expect(counts['gpu-health.json']).toBeGreaterThanOrEqual(23)
    expect(counts['k8s-resources.json']).toBeGreaterThanOrEqual(23)
  })
})
