import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {toJsonSchema, type JsonObject} from '../../src/sandbox/linode/openapi.js'
import {SPEC_PATCHES} from '../../src/sandbox/linode/spec-patches.js'
import {operation, readSpecFile, validateRequest, validateResponse, type RequestInput} from '../../src/sandbox/linode/spec.js'
import {CLUSTER} from '../../src/sandbox/linode/http.js'

describe('OpenAPI 3.0 → JSON Schema', () => {
  const doc: JsonObject = {components: {schemas: {Size: {type: 'integer', minimum: 1, 'x-linode-filterable': true}}}}
  const schema: JsonObject = {
    type: 'object',
    required: ['id', 'size', 'secret'],
    additionalProperties: false,
    example: {id: 1},
    properties: {
      id: {type: 'integer', readOnly: true},
      size: {$ref: '#/components/schemas/Size'},
      secret: {type: 'string', writeOnly: true},
      parent: {type: 'string', nullable: true, enum: ['a', 'b']},
    },
  }

  it('maps nullable, resolves $ref, drops x-* and examples, and drops readOnly from requests', () => {
    expect(toJsonSchema(schema, doc, {direction: 'request'})).toEqual({
      type: 'object',
      required: ['size', 'secret'],
      additionalProperties: false,
      properties: {size: {type: 'integer', minimum: 1}, secret: {type: 'string', writeOnly: true}, parent: {type: ['string', 'null'], enum: ['a', 'b', null]}},
    })
  })

  it('drops writeOnly from responses, and `complete` requires every declared property', () => {
    const converted = toJsonSchema(schema, doc, {direction: 'response', complete: {optional: new Set(['parent'])}}) as JsonObject
    expect(Object.keys(converted.properties as JsonObject)).toEqual(['id', 'size', 'parent'])
    expect(converted.required).toEqual(['id', 'size'])
  })

  it('refuses references it cannot follow', () => {
    expect(() => toJsonSchema({$ref: '#/components/schemas/Nope'}, doc, {direction: 'request'})).toThrow(/unresolvable/)
    expect(() => toJsonSchema({$ref: 'other.yaml#/X'}, doc, {direction: 'request'})).toThrow(/only local/)
  })
})

describe('the parsed-spec cache', () => {
  it('writes JSON named by the content hash into the temp dir and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-linode-'))
    const file = join(dir, 'mini.yaml')
    const yaml = `openapi: 3.0.1\npaths:\n  /x:\n    get: {operationId: x-${Date.now()}-${Math.random()}}\n`
    writeFileSync(file, yaml)
    const cache = join(tmpdir(), `fedobs-linode-spec-${createHash('sha256').update(yaml).digest('hex').slice(0, 16)}.json`)
    expect(existsSync(cache)).toBe(false)
    expect(readSpecFile(file).openapi).toBe('3.0.1')
    expect(JSON.parse(readFileSync(cache, 'utf8')).openapi).toBe('3.0.1')
    // Reused: what is in the cache wins over the YAML.
    writeFileSync(cache, JSON.stringify({openapi: 'from-cache', paths: {}}))
    expect(readSpecFile(file).openapi).toBe('from-cache')
    // A torn cache is parsed again.
    writeFileSync(cache, '{"openapi": "3.0')
    expect(readSpecFile(file).openapi).toBe('3.0.1')
    rmSync(cache)
    rmSync(dir, {recursive: true})
  })
})

describe('requests the spec rejects', () => {
  const create = (body: unknown): RequestInput => ({method: 'POST', template: '/lke/clusters', pathParams: {apiVersion: 'v4beta'}, query: new URLSearchParams(), body})
  const errors = (input: RequestInput) => validateRequest(input).errors

  it('accepts the create payload fedobs sends', () => {
    expect(errors(create(CLUSTER))).toEqual([])
    expect(errors(create({...CLUSTER, node_pools: [{type: 'g6-standard-2', count: 1, labels: {'example.com/role': 'edge'}}]}))).toEqual([])
  })

  it('names each problem by dotted path', () => {
    expect(errors(create({...CLUSTER, nodes: 3}))).toEqual([{field: 'nodes', reason: 'nodes is not a recognized field'}])
    expect(errors(create({...CLUSTER, node_pools: [{type: 'g6-standard-4', count: 0}]}))).toEqual([{field: 'node_pools[0].count', reason: 'count must be between 1 and 100'}])
    expect(errors(create({...CLUSTER, node_pools: [{type: 'g6-standard-4', count: '3'}]}))).toEqual([{field: 'node_pools[0].count', reason: 'count must be of type integer'}])
    const {node_pools: _, ...withoutPools} = CLUSTER
    expect(errors(create(withoutPools))).toEqual([{field: 'node_pools', reason: 'node_pools is required'}])
    expect(errors(create({...CLUSTER, label: 'x'.repeat(33)}))).toEqual([{field: 'label', reason: 'label must be 32 characters or fewer'}])
    expect(errors(create({...CLUSTER, node_pools: [{type: 'g6-standard-4', count: 1, taints: [{key: 'gpu', value: 'x', effect: 'Never'}]}]}))).toEqual([
      {field: 'node_pools[0].taints[0].effect', reason: 'effect must be one of: NoSchedule, PreferNoSchedule, NoExecute'},
    ])
    expect(errors(create(undefined)).map((e) => e.field)).toEqual(['label', 'region', 'k8s_version', 'node_pools'])
  })

  it('checks path, query and X-Filter on every list operation', () => {
    const list = (query: string, xFilter?: string): RequestInput => ({
      method: 'GET',
      template: '/lke/clusters',
      pathParams: {apiVersion: 'v4'},
      query: new URLSearchParams(query),
      ...(xFilter !== undefined ? {xFilter} : {}),
    })
    expect(errors(list('page=2&page_size=25', '{"+or": [{"label": "a"}, {"tags": "b"}]}'))).toEqual([])
    expect(errors(list('page_size=501'))).toEqual([{field: 'page_size', reason: 'page_size must be between 25 and 500'}])
    expect(errors(list('page=0'))).toEqual([{field: 'page', reason: 'page must be at least 1'}])
    expect(errors(list('', '{"label": '))).toEqual([{field: 'X-Filter', reason: 'X-Filter must be valid JSON'}])
    expect(errors(list('', '["label"]'))).toEqual([{field: 'X-Filter', reason: 'X-Filter must be a JSON object of filter and sort criteria'}])
    expect(errors({method: 'GET', template: '/lke/clusters/{clusterId}', pathParams: {apiVersion: 'v5', clusterId: 'abc'}, query: new URLSearchParams()})).toEqual([
      {field: 'apiVersion', reason: 'apiVersion must be one of: v4, v4beta'},
      {field: 'clusterId', reason: 'clusterId must be of type integer'},
    ])
  })
})

describe('response validation', () => {
  const cluster = {
    control_plane: {high_availability: false, acl: {enabled: false, addresses: {ipv4: [], ipv6: []}, 'revision-id': 'r1'}},
    created: '2025-01-02T03:04:05',
    id: 7,
    k8s_version: '1.33',
    label: 'hub',
    region: 'us-ord',
    status: 'ready',
    tags: [],
    updated: '2025-01-02T03:04:05',
  }

  it('accepts what the API sends and rejects what it does not', () => {
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, cluster, {complete: true})).toEqual([])
    expect(validateResponse('POST', '/{apiVersion}/lke/clusters', 200, cluster, {complete: true})).toEqual([])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, {...cluster, status: 'provisioning'})).toEqual(['200 /status must be equal to one of the allowed values'])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, {...cluster, nodes: []})).toEqual(['200 / must NOT have additional properties: nodes'])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, {...cluster, created: 'yesterday'})).toEqual(['200 /created must match format "date-time"'])
    const {id: _, ...withoutId} = cluster
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, withoutId)).toEqual([])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 200, withoutId, {complete: true})).toEqual(["200 / must have required property 'id'"])
  })

  it('checks error answers against the error shape, also where the operation declares none', () => {
    const error = {errors: [{reason: 'Not found'}]}
    expect(validateResponse('GET', '/lke/clusters/{clusterId}', 404, error, {complete: true})).toEqual([])
    expect(validateResponse('PUT', '/lke/clusters/{clusterId}', 400, {errors: [{field: 'label', reason: 'x'}]})).toEqual([])
    expect(validateResponse('PUT', '/lke/clusters/{clusterId}', 503, {message: 'down'})).toEqual(['503 / must NOT have additional properties: message'])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}/kubeconfig', 503, {errors: [{field: null, reason: 'x'}]})).toEqual(['503 /errors/0/field must be string'])
  })

  it('applies each documented patch (the published spec would reject these real answers)', () => {
    expect(SPEC_PATCHES.length).toBe(12)
    const pool = {
      autoscaler: {enabled: false, min: 1, max: 1},
      count: 1,
      disks: [],
      id: 1,
      labels: {'example.com/role': 'gpu'},
      nodes: [{id: '1-ab', instance_id: null, status: 'not_ready'}],
      tags: [],
      taints: [],
      type: 'g6-standard-2',
    }
    expect(validateResponse('GET', '/lke/clusters/{clusterId}/pools/{poolId}', 200, pool)).toEqual([])
    expect(validateResponse('GET', '/lke/clusters/{clusterId}/pools/{poolId}', 200, {...pool, nodes: [{id: '1-ab', instance_id: '123', status: 'ready'}]})).toEqual([
      '200 /nodes/0/instance_id must be integer,null',
    ])
    const nb = {id: 1, label: 'ccm-abc', lke_cluster: {id: 7, label: 'hub', type: 'lkecluster', url: '/v4/lke/clusters/7'}}
    expect(validateResponse('GET', '/nodebalancers/{nodeBalancerId}', 200, nb)).toEqual([])
    expect(validateResponse('GET', '/nodebalancers/{nodeBalancerId}', 200, {...nb, lke_cluster: null})).toEqual([])
    expect(validateResponse('GET', '/nodebalancers/{nodeBalancerId}', 200, {...nb, lke_cluster: {id: 7}})).not.toEqual([])
  })

  it('knows which operations are public, paginated and filterable', () => {
    expect(operation('GET', '/regions').public).toBe(true)
    expect(operation('GET', '/lke/clusters').public).toBe(false)
    expect(operation('GET', '/lke/clusters').parameters.map((p) => p.name)).toEqual(['apiVersion', 'page', 'page_size'])
    expect(() => operation('GET', '/lke/nothing')).toThrow(/no operation/)
  })
})
