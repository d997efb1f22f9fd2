import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FIREWALL_LIMITS} from '../../src/sandbox/linode/cloud.js'
import {CLUSTER, client, type Client} from '../../src/sandbox/linode/http.js'
import {toJsonSchema, type Json, type JsonObject} from '../../src/sandbox/linode/openapi.js'
import {startFakeLinode, type ApiFirewall, type ApiFirewallDevice, type FakeLinode, type FirewallRule} from '../../src/sandbox/linode/server.js'
import {readSpecFile, validateRequest, validateResponse} from '../../src/sandbox/linode/spec.js'

let fake: FakeLinode
let api: Client

beforeAll(async () => {
  fake = await startFakeLinode()
  api = client(fake)
})

afterAll(async () => {
  await fake.close()
})

/** What the CCM sends for `{"allowList":{"ipv4":["203.0.113.7/32"]}}` on a Service otel-gateway-external with ports 4317, 4318. */
function ccmFirewall(label: string, addresses: FirewallRule['addresses'] = {ipv4: ['203.0.113.7/32']}): JsonObject {
  return {
    label,
    rules: {
      inbound: [{action: 'ACCEPT', label: 'ACCEPT-otel-gateway-external', description: `Created by linode-ccm: ${label}, for otel-gateway-external`, ports: '4317,4318', protocol: 'TCP', addresses}],
      inbound_policy: 'DROP',
      outbound: null,
      outbound_policy: 'ACCEPT',
    },
    tags: ['fedobs'],
  }
}

const rule = (change: Partial<FirewallRule> = {}): FirewallRule => ({action: 'ACCEPT', label: 'ACCEPT-svc', protocol: 'TCP', ports: '443', addresses: {ipv4: ['203.0.113.7/32']}, ...change})

describe('Cloud Firewalls for NodeBalancers, as the CCM uses them', () => {
  let nodeBalancerId: number
  let firewall: ApiFirewall
  let device: ApiFirewallDevice

  it('creates a firewall from the CCM body (outbound null, no description on nothing) and echoes the rules, version 1', async () => {
    const created = await api.call('POST', '/v4/networking/firewalls', {body: ccmFirewall('ccm-0123456789ab')})
    expect(created.status).toBe(200)
    firewall = created.body
    expect(firewall).toMatchObject({label: 'ccm-0123456789ab', status: 'enabled', tags: ['fedobs'], entities: []})
    expect(firewall.rules).toMatchObject({inbound_policy: 'DROP', outbound: null, outbound_policy: 'ACCEPT', version: 1})
    expect(firewall.rules.fingerprint).toMatch(/^[0-9a-f]{8}$/)
    expect(firewall.rules.inbound).toEqual((ccmFirewall('ccm-0123456789ab').rules as {inbound: unknown}).inbound)
  })

  it('attaches a NodeBalancer as a device (relative entity url, parent_entity null) and lists it from both sides', async () => {
    const lke = fake.addCluster(CLUSTER)
    const nodeBalancer = fake.addNodeBalancer({clusterId: lke.id, label: 'ccm-0123456789ab'})
    nodeBalancerId = nodeBalancer.id
    const attached = await api.call('POST', `/v4/networking/firewalls/${firewall.id}/devices`, {body: {id: nodeBalancerId, type: 'nodebalancer'}})
    expect(attached.status).toBe(200)
    device = attached.body
    expect(device.entity).toEqual({id: nodeBalancerId, label: 'ccm-0123456789ab', parent_entity: null, type: 'nodebalancer', url: `/v4/nodebalancers/${nodeBalancerId}`})
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}/devices`)).body).toEqual({data: [device], page: 1, pages: 1, results: 1})
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}/devices/${device.id}`)).body).toEqual(device)
    const ofNodeBalancer = await api.call('GET', `/v4/nodebalancers/${nodeBalancerId}/firewalls`)
    expect(ofNodeBalancer.body.results).toBe(1)
    expect(ofNodeBalancer.body.data[0]).toMatchObject({id: firewall.id, entities: [device.entity]})
    expect(fake.firewallOf(nodeBalancerId)).toEqual(ofNodeBalancer.body.data[0])
  })

  it('replaces every rule on PUT .../rules and counts the version up', async () => {
    const rules = {inbound: [rule({action: 'DROP', addresses: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}, ports: '4317'})], inbound_policy: 'ACCEPT', outbound: null, outbound_policy: 'ACCEPT'}
    const replaced = await api.call('PUT', `/v4/networking/firewalls/${firewall.id}/rules`, {body: rules})
    expect(replaced.status).toBe(200)
    expect(replaced.body).toMatchObject({...rules, version: 2})
    expect(replaced.body.fingerprint).not.toBe(firewall.rules.fingerprint)
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}/rules`)).body).toEqual(replaced.body)
    expect(fake.firewallOf(nodeBalancerId)?.rules).toEqual(replaced.body)
  })

  it('lists, filters and updates firewalls', async () => {
    expect((await api.call('GET', '/v4/networking/firewalls', {filter: {label: 'ccm-0123456789ab'}})).body.data.map((f: ApiFirewall) => f.id)).toEqual([firewall.id])
    expect((await api.call('GET', '/v4/networking/firewalls', {filter: {tags: 'other'}})).body.results).toBe(0)
    const updated = await api.call('PUT', `/v4/networking/firewalls/${firewall.id}`, {body: {status: 'disabled', tags: ['fedobs', 'x']}})
    expect(updated.body).toMatchObject({status: 'disabled', tags: ['fedobs', 'x'], label: 'ccm-0123456789ab'})
    await api.call('PUT', `/v4/networking/firewalls/${firewall.id}`, {body: {status: 'enabled'}})
  })

  it('keeps one firewall per NodeBalancer and unique firewall labels', async () => {
    const second = await api.call('POST', '/v4/networking/firewalls', {body: {...ccmFirewall('ccm-second'), devices: {nodebalancers: [nodeBalancerId]}}})
    expect(second.status).toBe(400)
    expect(second.body.errors).toEqual([{field: 'devices.nodebalancers[0]', reason: expect.stringMatching(/already has a firewall assigned/)}])
    const duplicate = await api.call('POST', '/v4/networking/firewalls', {body: ccmFirewall('ccm-0123456789ab')})
    expect(duplicate.body).toEqual({errors: [{field: 'label', reason: 'Label must be unique among your Cloud Firewalls'}]})
    const other = (await api.call('POST', '/v4/networking/firewalls', {body: ccmFirewall('ccm-other')})).body as ApiFirewall
    expect((await api.call('POST', `/v4/networking/firewalls/${other.id}/devices`, {body: {id: nodeBalancerId, type: 'nodebalancer'}})).status).toBe(400)
    expect((await api.call('POST', `/v4/networking/firewalls/${other.id}/devices`, {body: {id: 999, type: 'nodebalancer'}})).body).toEqual({
      errors: [{field: 'id', reason: 'NodeBalancer 999 not found'}],
    })
    expect((await api.call('DELETE', `/v4/networking/firewalls/${other.id}`)).status).toBe(200)
    expect((await api.call('GET', `/v4/networking/firewalls/${other.id}`)).status).toBe(404)
    expect((await api.call('GET', '/v4/nodebalancers/999/firewalls')).status).toBe(404)
  })

  it('creates a firewall with devices in one call, a Linode among them (device url /v4/linode/instances/N)', async () => {
    const lke = fake.addCluster({...CLUSTER, label: 'with-linodes'}, {ageSeconds: 600})
    const [instance] = fake.view().instances.filter((i) => i.lke_cluster_id === lke.id)
    const nodeBalancer = fake.addNodeBalancer({clusterId: lke.id})
    const created = await api.call('POST', '/v4/networking/firewalls', {body: {...ccmFirewall('with-devices'), devices: {linodes: [instance!.id], nodebalancers: [nodeBalancer.id]}}})
    expect(created.status).toBe(200)
    expect(created.body.entities).toEqual([
      {id: instance!.id, label: instance!.label, parent_entity: null, type: 'linode', url: `/v4/linode/instances/${instance!.id}`},
      {id: nodeBalancer.id, label: nodeBalancer.label, parent_entity: null, type: 'nodebalancer', url: `/v4/nodebalancers/${nodeBalancer.id}`},
    ])
    // The cluster's Linodes go with it, and so do their devices; the NodeBalancer stays.
    expect((await api.call('DELETE', `/v4beta/lke/clusters/${lke.id}`)).status).toBe(200)
    expect(fake.firewallOf(nodeBalancer.id)?.entities.map((e) => e.type)).toEqual(['nodebalancer'])
  })

  it('drops the device when its NodeBalancer is deleted; the firewall stays', async () => {
    expect((await api.call('DELETE', `/v4/nodebalancers/${nodeBalancerId}`)).status).toBe(200)
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}/devices`)).body.results).toBe(0)
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}`)).body.entities).toEqual([])
    expect((await api.call('GET', `/v4/networking/firewalls/${firewall.id}/devices/${device.id}`)).status).toBe(404)
    expect(fake.firewallOf(nodeBalancerId)).toBeUndefined()
  })

  it('detaches a device with DELETE .../devices/{id}, then deletes the firewall', async () => {
    const nodeBalancer = fake.addNodeBalancer({clusterId: null})
    const attached = (await api.call('POST', `/v4/networking/firewalls/${firewall.id}/devices`, {body: {id: nodeBalancer.id, type: 'nodebalancer'}})).body as ApiFirewallDevice
    expect((await api.call('DELETE', `/v4/networking/firewalls/${firewall.id}/devices/${attached.id}`)).body).toEqual({})
    expect(fake.firewallOf(nodeBalancer.id)).toBeUndefined()
    expect((await api.call('DELETE', `/v4/networking/firewalls/${firewall.id}`)).status).toBe(200)
    expect(fake.state.firewalls.has(firewall.id)).toBe(false)
  })

  it('answered only within the spec, complete', () => {
    expect(api.problems).toEqual([])
    expect(fake.state.violations).toEqual([])
  })
})

describe('what the API refuses in firewall rules (the schema cannot say it)', () => {
  const put = async (inbound: FirewallRule[]): Promise<{status: number; errors: {field?: string; reason: string}[]}> => {
    const firewall = (await api.call('POST', '/v4/networking/firewalls', {body: ccmFirewall(`rules-${Math.random().toString(36).slice(2, 10)}`)})).body as ApiFirewall
    const answer = await api.call('PUT', `/v4/networking/firewalls/${firewall.id}/rules`, {body: {inbound, inbound_policy: 'DROP', outbound: [], outbound_policy: 'ACCEPT'}})
    const after = (await api.call('GET', `/v4/networking/firewalls/${firewall.id}/rules`)).body
    if (answer.status !== 200) expect(after, 'a refused PUT changes nothing').toEqual(firewall.rules)
    return {status: answer.status, errors: answer.body.errors ?? []}
  }

  it('an empty address list, or none at all', async () => {
    expect((await put([rule({addresses: {ipv4: []}})])).errors).toEqual([{field: 'inbound[0].addresses.ipv4', reason: 'Must not be an empty list'}])
    expect((await put([rule({addresses: {ipv4: ['203.0.113.7/32'], ipv6: []}})])).errors).toEqual([{field: 'inbound[0].addresses.ipv6', reason: 'Must not be an empty list'}])
    expect((await put([rule({addresses: {}})])).errors).toEqual([{field: 'inbound[0].addresses', reason: 'Must contain ipv4, ipv6, or both'}])
  })

  it('an address not in IP/mask format, or of the other family', async () => {
    const {errors} = await put([rule({addresses: {ipv4: ['203.0.113.7', '203.0.113.0/33', '2001:db8::1/128', 'example.com/32'], ipv6: ['2001:db8::/32', 'fe80::1%eth0/64', '203.0.113.7/32']}})])
    expect(errors.map((e) => e.field)).toEqual([
      'inbound[0].addresses.ipv4[0]',
      'inbound[0].addresses.ipv4[1]',
      'inbound[0].addresses.ipv4[2]',
      'inbound[0].addresses.ipv4[3]',
      'inbound[0].addresses.ipv6[1]',
      'inbound[0].addresses.ipv6[2]',
    ])
    expect(errors[0]!.reason).toBe('203.0.113.7 is not a valid IPv4 address in IP/mask format')
  })

  it('more than 255 addresses in a rule, more than 25 rules', async () => {
    const many = Array.from({length: FIREWALL_LIMITS.addressesPerRule}, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}/32`)
    expect((await put([rule({addresses: {ipv4: many}})])).status).toBe(200)
    expect((await put([rule({addresses: {ipv4: many, ipv6: ['::/0']}})])).errors).toEqual([{field: 'inbound[0].addresses', reason: 'A rule may have at most 255 addresses across ipv4 and ipv6'}])
    expect((await put(Array.from({length: 25}, () => rule()))).status).toBe(200)
    expect((await put(Array.from({length: 26}, () => rule()))).errors).toEqual([{reason: 'A firewall may have at most 25 rules across its inbound and outbound rulesets'}])
  })

  it('ports: 1-65535 without leading zeros, rising ranges, at most 15 pieces, TCP and UDP only', async () => {
    expect((await put([rule({ports: '22-24, 80, 443'}), rule({ports: '4317,4318', protocol: 'UDP'}), rule({protocol: 'ICMP', ports: undefined})])).status).toBe(200)
    const fifteen = Array.from({length: 15}, (_, i) => String(8000 + i)).join(',')
    expect((await put([rule({ports: fifteen})])).status).toBe(200)
    const bad = ['0', '080', '65536', '24-22', '22-', `${fifteen},9000`, '1-2,3-4,5-6,7-8,9-10,11-12,13-14,15-16']
    for (const ports of bad) expect((await put([rule({ports})])).errors, ports).toEqual([{field: 'inbound[0].ports', reason: expect.any(String)}])
    expect((await put([rule({protocol: 'ICMP', ports: '22'})])).errors).toEqual([{field: 'inbound[0].ports', reason: 'Ports are not allowed for the ICMP protocol'}])
  })

  it('a rule without action, addresses or protocol (the spec, as patched, checks that per rule)', async () => {
    const {errors} = await put([{label: 'x-y-z'} as unknown as FirewallRule])
    expect(errors).toEqual([
      {field: 'inbound[0].action', reason: 'action is required'},
      {field: 'inbound[0].addresses', reason: 'addresses is required'},
      {field: 'inbound[0].protocol', reason: 'protocol is required'},
    ])
  })

  it('the same checks on create, with rules.* fields', async () => {
    const refused = await api.call('POST', '/v4/networking/firewalls', {body: ccmFirewall('refused', {ipv4: []})})
    expect(refused.body).toEqual({errors: [{field: 'rules.inbound[0].addresses.ipv4', reason: 'Must not be an empty list'}]})
    expect((await api.call('GET', '/v4/networking/firewalls', {filter: {label: 'refused'}})).body.results).toBe(0)
  })

  it('answered only within the spec, complete', () => {
    expect(api.problems).toEqual([])
    expect(fake.state.violations).toEqual([])
  })
})

/**
 * Each firewall and Linode patch of spec-patches.ts, shown on what the real API sent or accepted
 * (linode/linodego test/integration/fixtures): the published spec refuses it, the patched one takes it.
 */
describe('the spec patches for firewalls and Linodes', () => {
  const published = readSpecFile()
  const ajv = new Ajv({allErrors: true, strict: false, validateFormats: false})
  const publishedCheck = (path: string, method: string, where: 'request' | 'response', body: unknown): boolean => {
    const operation = (published.paths as JsonObject)[`/{apiVersion}${path}`] as JsonObject
    const raw = (operation[method] as JsonObject)[where === 'request' ? 'requestBody' : 'responses'] as JsonObject
    const media = where === 'request' ? raw : (raw['200'] as JsonObject)
    const schema = ((media.content as JsonObject)['application/json'] as JsonObject).schema as Json
    return ajv.validate(toJsonSchema(schema, published, {direction: where}) as object, body)
  }
  const request = (method: string, template: string, body: unknown) => validateRequest({method, template, pathParams: {apiVersion: 'v4', firewallId: '1'}, query: new URLSearchParams(), body}).errors

  // TestFirewall_Get.yaml: the request linodego sent, and the answer.
  const created = {
    label: 'linodego-fw-test',
    rules: {
      inbound: [{action: 'DROP', label: 'linodego-fwrule-test', protocol: 'ICMP', addresses: {ipv4: ['0.0.0.0/0'], ipv6: ['1234::5678/0']}}],
      inbound_policy: 'ACCEPT',
      outbound: null,
      outbound_policy: 'ACCEPT',
    },
    tags: ['testing'],
  }
  const answer = {
    id: 9618661,
    label: 'linodego-fw-test',
    created: '2018-01-02T03:04:05',
    updated: '2018-01-02T03:04:05',
    status: 'enabled',
    rules: {...created.rules, version: 1, fingerprint: 'e026ab25'},
    tags: ['testing'],
    entities: [],
  }
  // TestNodeBalancerFirewalls_List.yaml: GET /nodebalancers/1774421/firewalls.
  const nodeBalancerFirewalls = {
    data: [
      {
        id: 3123607,
        label: 'cloudfw-1755904131472961000',
        created: '2018-01-02T03:04:05',
        updated: '2018-01-02T03:04:05',
        status: 'enabled',
        rules: {
          inbound: [{protocol: 'TCP', addresses: {ipv4: ['192.0.2.0/32']}, action: 'ACCEPT', label: 'ssh-inbound-accept-local', ports: '22'}],
          inbound_policy: 'DROP',
          outbound: [],
          outbound_policy: 'ACCEPT',
          version: 1,
          fingerprint: '353ee91d',
        },
        tags: [],
        entities: [{id: 1774421, type: 'nodebalancer', label: 'go-test-def', url: '/v4/nodebalancers/1774421', parent_entity: null}],
      },
    ],
    page: 1,
    pages: 1,
    results: 1,
  }
  // TestFirewallDevice_Get.yaml.
  const firewallDevice = {
    id: 11909959,
    created: '2018-01-02T03:04:05',
    updated: '2018-01-02T03:04:05',
    entity: {id: 97185937, type: 'linode', label: 'go-test-ins-507phxdcj126', url: '/v4/linode/instances/97185937', parent_entity: null},
  }

  it('POST /networking/firewalls: one object with both policies (and devices), rule lists may be null', () => {
    expect(publishedCheck('/networking/firewalls', 'post', 'request', {...created, rules: {...created.rules, outbound: []}})).toBe(false)
    expect(request('POST', '/networking/firewalls', created)).toEqual([])
    expect(request('POST', '/networking/firewalls', {...created, devices: {nodebalancers: [1]}})).toEqual([])
    expect(publishedCheck('/networking/firewalls/{firewallId}/rules', 'put', 'request', created.rules)).toBe(false)
    expect(request('PUT', '/networking/firewalls/{firewallId}/rules', created.rules)).toEqual([])
  })

  it('firewall answers: null rule lists, rules without description/ports/ipv6, entities with relative urls', () => {
    expect(publishedCheck('/networking/firewalls/{firewallId}', 'get', 'response', answer)).toBe(false)
    expect(validateResponse('GET', '/networking/firewalls/{firewallId}', 200, answer, {complete: true})).toEqual([])
    expect(publishedCheck('/nodebalancers/{nodeBalancerId}/firewalls', 'get', 'response', nodeBalancerFirewalls)).toBe(false)
    expect(validateResponse('GET', '/nodebalancers/{nodeBalancerId}/firewalls', 200, nodeBalancerFirewalls, {complete: true})).toEqual([])
    expect(publishedCheck('/networking/firewalls/{firewallId}/devices/{deviceId}', 'get', 'response', firewallDevice)).toBe(false)
    expect(validateResponse('GET', '/networking/firewalls/{firewallId}/devices/{deviceId}', 200, firewallDevice, {complete: true})).toEqual([])
    // Still strict: a rule with no address family at all, or an unknown field, is refused.
    const broken = structuredClone(nodeBalancerFirewalls)
    broken.data[0]!.rules.inbound[0]!.addresses = {} as never
    expect(validateResponse('GET', '/nodebalancers/{nodeBalancerId}/firewalls', 200, broken, {complete: true})).not.toEqual([])
    expect(validateResponse('GET', '/networking/firewalls/{firewallId}', 200, {...answer, devices: []}, {complete: true})).not.toEqual([])
  })

  it('Linode answers: backups.last_successful null', () => {
    const lke = fake.addCluster({...CLUSTER, label: 'patch-check'}, {ageSeconds: 600})
    const instance = fake.view().instances.find((i) => i.lke_cluster_id === lke.id)
    expect(instance?.backups.last_successful).toBeNull()
    expect(publishedCheck('/linode/instances/{linodeId}', 'get', 'response', instance)).toBe(false)
    expect(validateResponse('GET', '/linode/instances/{linodeId}', 200, instance, {complete: true})).toEqual([])
  })
})
