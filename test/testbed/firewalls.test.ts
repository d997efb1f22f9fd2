import type {V1Service} from '@kubernetes/client-node'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {CLUSTER} from '../../src/sandbox/linode/http.js'
import {startFakeLinode, type ApiCluster, type ApiFirewall, type ApiNodeBalancer} from '../../src/sandbox/linode/server.js'
import {requireBinaries} from '../helpers/testbed.js'
import {startLinodeTestbed, type LinodeTestbed} from '../../src/sandbox/testbed/bridge.js'
import type {TestCluster} from '../../src/sandbox/testbed/cluster.js'
import {ignoreStatus, statusOf} from '../../src/sandbox/testbed/kube.js'
import {
  ERR_INVALID_FW_CONFIG,
  ERR_TOO_MANY_IPS,
  firewallOptionsFor,
  LB_FIREWALL_ACL_ANNOTATION,
  LB_TAGS_ANNOTATION,
  nodeBalancerLabel,
  parseAcl,
  ruleChanged,
} from '../../src/sandbox/testbed/load-balancers.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES} from '../../src/sandbox/testbed/testbed.js'

const binaries = requireBinaries(TESTBED_BINARIES)

const service = (annotation: string | undefined, ports = [4317, 4318], name = 'otel-gateway-external'): V1Service => ({
  metadata: {name, namespace: 'observability-hub', uid: '3b9c7e62-4a55-4d3c-9d8e-1f2a3b4c5d6e', annotations: annotation === undefined ? {} : {[LB_FIREWALL_ACL_ANNOTATION]: annotation}},
  spec: {type: 'LoadBalancer', ports: ports.map((port) => ({port}))},
})

describe('the CCM firewall logic, ported (linode-cloud-controller-manager services/firewalls.go)', () => {
  it('reads the annotation as Go does: null or absent is unset, keys match case-insensitively, wrong types fail', () => {
    expect(parseAcl('{"allowList":{"ipv4":["203.0.113.7/32"]},"other":1}')).toEqual({allowList: {ipv4: ['203.0.113.7/32']}})
    expect(parseAcl('{"allowlist":{"IPv4":[]},"denyList":null}')).toEqual({allowList: {ipv4: []}})
    expect(parseAcl('{}')).toEqual({})
    expect(() => parseAcl('{"allowList":')).toThrow(/invalid firewall ACL annotation/)
    expect(() => parseAcl('{"allowList":["203.0.113.7/32"]}')).toThrow(/cannot unmarshal array/)
    expect(() => parseAcl('{"denyList":{"ipv4":[7]}}')).toThrow(/cannot unmarshal/)
  })

  it('builds one inbound rule on the Service ports: ACCEPT + inbound DROP for an allow list, DROP + inbound ACCEPT for a deny list', () => {
    expect(firewallOptionsFor('ccm-0123456789ab', ['fedobs'], service('{"allowList":{"ipv4":["203.0.113.7/32"]}}'))).toEqual({
      label: 'ccm-0123456789ab',
      rules: {
        inbound: [
          {
            action: 'ACCEPT',
            label: 'ACCEPT-otel-gateway-external',
            description: 'Created by linode-ccm: ccm-0123456789ab, for otel-gateway-external',
            ports: '4317,4318',
            protocol: 'TCP',
            addresses: {ipv4: ['203.0.113.7/32']},
          },
        ],
        inbound_policy: 'DROP',
        outbound: null,
        outbound_policy: 'ACCEPT',
      },
      tags: ['fedobs'],
    })
    const deny = firewallOptionsFor('fw', [], service('{"denyList":{"ipv4":["0.0.0.0/0"],"ipv6":["::/0"]}}', [4317], 'a-service-with-a-rather-long-name-indeed'))
    expect(deny.rules).toMatchObject({
      inbound: [{action: 'DROP', label: 'DROP-a-service-with-a-rather-lon', ports: '4317', addresses: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}}],
      inbound_policy: 'ACCEPT',
    })
    expect(deny.rules.inbound[0]!.label).toHaveLength(32)
  })

  it('refuses both lists and neither, and more than 25 rules of 255 addresses', () => {
    expect(() => firewallOptionsFor('fw', [], service('{"allowList":{"ipv4":["203.0.113.7/32"]},"denyList":{"ipv4":["0.0.0.0/0"]}}'))).toThrow(ERR_INVALID_FW_CONFIG)
    expect(() => firewallOptionsFor('fw', [], service('{}'))).toThrow(ERR_INVALID_FW_CONFIG)
    const addresses = (n: number) => Array.from({length: n}, (_, i) => `10.${Math.floor(i / 65_536) % 256}.${Math.floor(i / 256) % 256}.${i % 256}/32`)
    expect(() => firewallOptionsFor('fw', [], service(JSON.stringify({allowList: {ipv4: addresses(25 * 255 + 1)}})))).toThrow(ERR_TOO_MANY_IPS)
  })

  it('chunks more than 255 addresses into rules per family, and then (like the CCM) adds an empty rule for a family not given', () => {
    const {rules} = firewallOptionsFor('fw', [], service(JSON.stringify({allowList: {ipv4: Array.from({length: 300}, (_, i) => `198.51.100.${i % 250}/32`)}})))
    expect(rules.inbound.map((r) => [r.description, r.addresses.ipv4?.length, r.addresses.ipv6?.length])).toEqual([
      ['Rule 0, Created by linode-ccm: fw, for otel-gateway-external', 255, undefined],
      ['Rule 1, Created by linode-ccm: fw, for otel-gateway-external', 45, undefined],
      ['Rule 0, Created by linode-ccm: fw, for otel-gateway-external', undefined, undefined],
    ])
  })

  it('sees a change in the policy, the addresses or the ports, and none otherwise', () => {
    const current = {...firewallOptionsFor('fw', [], service('{"allowList":{"ipv4":["203.0.113.7/32"]}}')).rules, version: 1, fingerprint: '00000000'}
    const same = service('{"allowList":{"ipv4":["203.0.113.7/32"]}}')
    expect(ruleChanged(current, parseAcl('{"allowList":{"ipv4":["203.0.113.7/32"]}}'), same)).toBe(false)
    expect(ruleChanged(current, parseAcl('{"allowList":{"ipv4":["203.0.113.8/32"]}}'), same)).toBe(true)
    expect(ruleChanged(current, parseAcl('{"allowList":{"ipv4":["203.0.113.7/32"],"ipv6":["2001:db8::1/128"]}}'), same)).toBe(true)
    expect(ruleChanged(current, parseAcl('{"denyList":{"ipv4":["203.0.113.7/32"]}}'), same)).toBe(true)
    expect(ruleChanged(current, parseAcl('{"allowList":{"ipv4":["203.0.113.7/32"]}}'), service(undefined, [4317]))).toBe(true)
    // Neither list: nothing to compare, so the CCM sees no change (and leaves the rules alone).
    expect(ruleChanged(current, parseAcl('{}'), same)).toBe(false)
  })

  it('sends bodies the fake (and so the spec) accepts, and the CCM chunking bug is refused like the API refuses it', async () => {
    const fake = await startFakeLinode()
    try {
      const post = async (body: unknown) =>
        (await fetch(`${fake.url}/v4/networking/firewalls`, {method: 'POST', headers: {Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json'}, body: JSON.stringify(body)})).json()
      expect(await post(firewallOptionsFor('ccm-allow', ['fedobs'], service('{"allowList":{"ipv4":["203.0.113.7/32"]}}')))).toMatchObject({label: 'ccm-allow', rules: {version: 1}})
      expect(await post(firewallOptionsFor('ccm-deny', [], service('{"denyList":{"ipv4":["0.0.0.0/0"],"ipv6":["::/0"]}}')))).toMatchObject({label: 'ccm-deny'})
      expect(await post(firewallOptionsFor('ccm-empty', [], service('{"allowList":{"ipv4":[]}}')))).toEqual({errors: [{field: 'rules.inbound[0].addresses.ipv4', reason: 'Must not be an empty list'}]})
      const many = firewallOptionsFor('ccm-many', [], service(JSON.stringify({allowList: {ipv4: Array.from({length: 300}, (_, i) => `198.51.100.${i % 250}/32`)}})))
      expect(await post(many)).toEqual({errors: [{field: 'rules.inbound[2].addresses', reason: 'Must contain ipv4, ipv6, or both'}]})
      expect(fake.state.violations).toEqual([])
    } finally {
      await fake.close()
    }
  })
})

describe.skipIf(!binaries.ok)('the load-balancer stand-in honours the firewall-acl annotation on a real API server', () => {
  // One test-bed cluster for the file (the costly part); each test makes the Services it needs, under
  // names of its own, and deletes them after (afterEach waits until they are gone), so no test sees
  // another's Services, firewalls, retries or errors, and they pass in any order or alone.
  const NAMESPACE = 'observability-hub'
  const NAME = 'otel-gateway-external'
  const ALLOW = '{"allowList":{"ipv4":["203.0.113.7/32"]}}'
  let sandbox: LinodeTestbed
  let lke: ApiCluster
  let cluster: TestCluster
  /** The Services this test made, deleted by afterEach. */
  let created: string[] = []

  const core = () => cluster.clients().core
  const read = (name: string) => core().readNamespacedService({name, namespace: NAMESPACE})
  const nodeBalancerOf = async (name: string): Promise<ApiNodeBalancer | undefined> => {
    const ip = (await read(name)).status?.loadBalancer?.ingress?.[0]?.ip
    return ip ? sandbox.fake.view().nodeBalancers.find((nb) => nb.ipv4 === ip) : undefined
  }
  const firewallOf = async (name: string): Promise<ApiFirewall | undefined> => {
    const nodeBalancer = await nodeBalancerOf(name)
    return nodeBalancer && sandbox.fake.firewallOf(nodeBalancer.id)
  }

  /** Read, change, replace; again on a conflict (the controller writes the same object). */
  async function update(name: string, mutate: (s: V1Service) => void): Promise<void> {
    for (;;) {
      const current = await read(name)
      mutate(current)
      try {
        await core().replaceNamespacedService({name, namespace: NAMESPACE, body: current})
        return
      } catch (error) {
        if (statusOf(error) !== 409) throw error
      }
    }
  }
  const setAcl = (name: string, acl: string | undefined) =>
    update(name, (s) => {
      const others = Object.entries(s.metadata!.annotations ?? {}).filter(([key]) => key !== LB_FIREWALL_ACL_ANNOTATION)
      s.metadata!.annotations = Object.fromEntries(acl === undefined ? others : [...others, [LB_FIREWALL_ACL_ANNOTATION, acl]])
    })

  async function create(name: string, acl: string | undefined, extraPorts: {name: string; port: number}[] = []): Promise<void> {
    created.push(name)
    await core().createNamespacedService({
      namespace: NAMESPACE,
      body: {
        metadata: {name, annotations: {[LB_TAGS_ANNOTATION]: 'fedobs,fedobs-cluster:firewall-test', ...(acl === undefined ? {} : {[LB_FIREWALL_ACL_ANNOTATION]: acl})}},
        spec: {type: 'LoadBalancer', selector: {app: 'otel-gateway'}, ports: [{name: 'otlp-grpc', port: 4317}, {name: 'otlp-http', port: 4318}, ...extraPorts]},
      },
    })
  }

  const firewallWhere = (name: string, what: string, check: (f: ApiFirewall | undefined) => boolean) =>
    waitFor(
      async () => {
        const firewall = await firewallOf(name)
        return check(firewall) ? (firewall ?? true) : undefined
      },
      {timeoutMs: 20_000, intervalMs: 100, what: `${name}: ${what}`},
    )

  /** A Service of this test's own with its firewall in place (rules version 1). */
  async function withFirewall(name: string, acl = ALLOW, extraPorts: {name: string; port: number}[] = []): Promise<ApiFirewall> {
    await create(name, acl, extraPorts)
    const firewall = (await firewallWhere(name, 'the firewall', (f) => f !== undefined)) as ApiFirewall
    expect(firewall.rules.version).toBe(1)
    return firewall
  }

  /** The Warning events the stand-in recorded for a Service, newest last. */
  async function failures(name: string): Promise<string[]> {
    const events = await core().listNamespacedEvent({namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name}`})
    return events.items
      .filter((e) => e.reason === 'SyncLoadBalancerFailed' && e.type === 'Warning')
      .sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')))
      .map((e) => e.message ?? '')
  }
  const failureMatching = (name: string, pattern: RegExp) =>
    waitFor(async () => (await failures(name)).find((m) => pattern.test(m)), {timeoutMs: 20_000, intervalMs: 100, what: `a SyncLoadBalancerFailed event on ${name} matching ${pattern}`})

  beforeAll(async () => {
    sandbox = await startLinodeTestbed({fake: {timeScale: 0.01}})
    lke = sandbox.fake.addCluster({...CLUSTER, label: 'firewall-test', node_pools: [{type: 'g6-standard-2', count: 2}]}, {ageSeconds: 600})
    cluster = await sandbox.bridge.cluster(lke.id)
    await core().createNamespace({body: {metadata: {name: NAMESPACE}}})
  })

  afterEach(async () => {
    const names = created
    created = []
    if (names.length === 0 || !cluster) return
    for (const name of names) await ignoreStatus(core().deleteNamespacedService({name, namespace: NAMESPACE}), 404)
    // Gone means released: the stand-in deleted the firewall and the NodeBalancer, then the finalizer.
    await waitFor(async () => !(await core().listNamespacedService({namespace: NAMESPACE})).items.some((s) => names.includes(s.metadata!.name!)), {
      timeoutMs: 20_000,
      what: `the Services ${names.join(', ')} to go`,
    })
  })

  afterAll(async () => {
    await sandbox?.stop()
    expect(sandbox?.fake.state.violations ?? []).toEqual([])
  })

  it('gives Nodes their Linode’s public IPv4 as ExternalIP, as the CCM does, and they become Ready', async () => {
    const nodes = await waitFor(async () => ((await core().listNode()).items.length === 2 ? (await core().listNode()).items : undefined), {timeoutMs: 30_000, what: 'two nodes'})
    for (const node of nodes) {
      const instance = sandbox.fake.view().instances.find((i) => `linode://${i.id}` === node.spec?.providerID)!
      const addresses = node.status?.addresses?.map((a) => `${a.type} ${a.address}`)
      expect(addresses).toEqual([`Hostname ${node.metadata!.name}`, `ExternalIP ${instance.ipv4[0]}`, expect.stringMatching(/^InternalIP 127\./)])
    }
    // kwok's status patch keeps the addresses (two of one type would break it: see nodes.ts).
    await waitFor(async () => (await core().listNode()).items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')), {timeoutMs: 30_000, what: 'Ready nodes'})
  })

  it('creates the firewall with the NodeBalancer: its label and tags, one ACCEPT rule on the service ports, inbound DROP', async () => {
    const before = sandbox.fake.state.requests.length
    await create(NAME, ALLOW)
    const firewall = (await firewallWhere(NAME, 'the firewall', (f) => f !== undefined)) as ApiFirewall
    const nodeBalancer = (await nodeBalancerOf(NAME))!
    expect(firewall).toMatchObject({label: nodeBalancer.label, tags: ['fedobs', 'fedobs-cluster:firewall-test'], status: 'enabled'})
    expect(firewall.entities).toEqual([{id: nodeBalancer.id, label: nodeBalancer.label, parent_entity: null, type: 'nodebalancer', url: `/v4/nodebalancers/${nodeBalancer.id}`}])
    expect(firewall.rules).toEqual({
      inbound: [
        {
          action: 'ACCEPT',
          label: `ACCEPT-${NAME}`,
          description: `Created by linode-ccm: ${nodeBalancer.label}, for ${NAME}`,
          ports: '4317,4318',
          protocol: 'TCP',
          addresses: {ipv4: ['203.0.113.7/32']},
        },
      ],
      inbound_policy: 'DROP',
      outbound: null,
      outbound_policy: 'ACCEPT',
      version: 1,
      fingerprint: expect.any(String),
    })
    // Through the API, checked against the spec: create, then attach.
    const calls = sandbox.fake.state.requests.slice(before).map((r) => `${r.method} ${r.template} ${r.status}`)
    expect(calls).toEqual(['POST /{apiVersion}/networking/firewalls 200', 'POST /{apiVersion}/networking/firewalls/{firewallId}/devices 200'])
  })

  it('replaces the rules when the lists change, and again when the Service ports change', async () => {
    const name = 'fw-replace'
    await withFirewall(name)
    await setAcl(name, '{"allowList":{"ipv4":["203.0.113.7/32","198.51.100.0/24"],"ipv6":["2001:db8::/64"]}}')
    let firewall = (await firewallWhere(name, 'rules version 2', (f) => f?.rules.version === 2)) as ApiFirewall
    expect(firewall.rules.inbound).toEqual([expect.objectContaining({action: 'ACCEPT', ports: '4317,4318', addresses: {ipv4: ['203.0.113.7/32', '198.51.100.0/24'], ipv6: ['2001:db8::/64']}})])
    await update(name, (s) => s.spec!.ports!.push({name: 'health', port: 13_133}))
    firewall = (await firewallWhere(name, 'rules version 3', (f) => f?.rules.version === 3)) as ApiFirewall
    expect(firewall.rules.inbound![0]!.ports).toBe('4317,4318,13133')
  })

  it('turns a deny list into a DROP rule with inbound ACCEPT', async () => {
    const name = 'fw-deny'
    await withFirewall(name, ALLOW, [{name: 'health', port: 13_133}])
    await setAcl(name, '{"denyList":{"ipv4":["0.0.0.0/0"],"ipv6":["::/0"]}}')
    const firewall = (await firewallWhere(name, 'a deny list', (f) => f?.rules.inbound_policy === 'ACCEPT')) as ApiFirewall
    expect(firewall.rules.inbound).toEqual([
      {
        action: 'DROP',
        label: `DROP-${name}`,
        description: `Created by linode-ccm: ${firewall.label}, for ${name}`,
        ports: '4317,4318,13133',
        protocol: 'TCP',
        addresses: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']},
      },
    ])
  })

  it('keeps the rules when the API refuses an empty allow list, and says why (event, lastError)', async () => {
    const name = 'fw-empty-list'
    const kept = (await withFirewall(name)).rules
    const before = sandbox.fake.state.requests.length
    await setAcl(name, '{"allowList":{"ipv4":[]}}')
    const message = await failureMatching(name, /Must not be an empty list/)
    expect(message).toBe('Error syncing load balancer: failed to ensure load balancer: [400] [inbound[0].addresses.ipv4] Must not be an empty list')
    // The event and the bridge's lastError are written one after the other: wait for both.
    const lastError = `${NAMESPACE}/${name}: [400] [inbound[0].addresses.ipv4] Must not be an empty list`
    await waitFor(() => sandbox.bridge.errors().some((e) => e.includes(lastError)), {timeoutMs: 10_000, what: 'the lastError of the bridge'})
    expect((await firewallOf(name))!.rules).toEqual(kept)
    const refused = sandbox.fake.state.requests.slice(before).filter((r) => r.template === '/{apiVersion}/networking/firewalls/{firewallId}/rules' && r.status === 400)
    expect(refused.length).toBeGreaterThanOrEqual(1)
  })

  it('keeps the rules on both lists (the CCM refuses before calling the API); a valid annotation then applies and clears the error', async () => {
    const name = 'fw-both-lists'
    const kept = (await withFirewall(name)).rules
    await setAcl(name, '{"allowList":{"ipv4":["203.0.113.7/32"]},"denyList":{"ipv4":["0.0.0.0/0"]}}')
    expect(await failureMatching(name, /specify either/)).toBe(`Error syncing load balancer: failed to ensure load balancer: ${ERR_INVALID_FW_CONFIG}`)
    expect((await firewallOf(name))!.rules).toEqual(kept)
    await setAcl(name, '{"allowList":{"ipv4":["203.0.113.9/32"]}}')
    await firewallWhere(name, 'the new allow list', (f) => f?.rules.inbound?.[0]?.addresses.ipv4?.[0] === '203.0.113.9/32')
    await waitFor(() => !sandbox.bridge.errors().some((e) => e.includes(name)), {timeoutMs: 10_000, what: 'the error to clear'})
  })

  it('detaches and deletes the firewall when the annotation goes; the NodeBalancer stays', async () => {
    const name = 'fw-detach'
    const {id} = await withFirewall(name)
    const nodeBalancer = (await nodeBalancerOf(name))!
    await setAcl(name, undefined)
    await waitFor(() => !sandbox.fake.state.firewalls.has(id), {timeoutMs: 20_000, what: 'the firewall to go'})
    expect(sandbox.fake.firewallOf(nodeBalancer.id)).toBeUndefined()
    expect(await nodeBalancerOf(name)).toEqual(nodeBalancer)
  })

  it('makes no NodeBalancer for a new Service whose annotation is refused (neither list, an empty list), until it is fixed', async () => {
    const nodeBalancers = sandbox.fake.view().nodeBalancers.length
    await create('neither', '{}')
    expect(await failureMatching('neither', /specify either/)).toContain(ERR_INVALID_FW_CONFIG)
    await create('empty', '{"allowList":{"ipv4":[]}}')
    expect(await failureMatching('empty', /Must not be an empty list/)).toContain('[400] [rules.inbound[0].addresses.ipv4] Must not be an empty list')
    const neither = await read('neither')
    const empty = await read('empty')
    expect(neither.status?.loadBalancer?.ingress).toBeUndefined()
    expect(empty.status?.loadBalancer?.ingress).toBeUndefined()
    // None of theirs (labelled by the Service's UID), and no other either.
    const labels = new Set([nodeBalancerLabel(neither), nodeBalancerLabel(empty)])
    expect(sandbox.fake.view().nodeBalancers.filter((nb) => labels.has(nb.label))).toEqual([])
    expect(sandbox.fake.view().nodeBalancers).toHaveLength(nodeBalancers)
    await setAcl('empty', '{"allowList":{"ipv6":["2001:db8::7/128"]}}')
    const firewall = (await firewallWhere('empty', 'the fixed Service’s firewall', (f) => f !== undefined)) as ApiFirewall
    expect(firewall.rules.inbound![0]!.addresses).toEqual({ipv6: ['2001:db8::7/128']})
  })

  it('deletes the firewall, then the NodeBalancer, when the Service goes', async () => {
    const name = 'fw-goes'
    const firewall = await withFirewall(name)
    const nodeBalancer = (await nodeBalancerOf(name))!
    const nodeBalancers = sandbox.fake.view().nodeBalancers.length
    const before = sandbox.fake.state.requests.length
    await core().deleteNamespacedService({name, namespace: NAMESPACE})
    await waitFor(async () => !(await core().listNamespacedService({namespace: NAMESPACE})).items.some((s) => s.metadata?.name === name), {
      timeoutMs: 20_000,
      what: 'the Service to go',
    })
    expect(sandbox.fake.state.firewalls.has(firewall.id)).toBe(false)
    expect(sandbox.fake.view().nodeBalancers.some((nb) => nb.id === nodeBalancer.id)).toBe(false)
    expect(sandbox.fake.view().nodeBalancers).toHaveLength(nodeBalancers - 1)
    expect(
      sandbox.fake.state.requests
        .slice(before)
        .filter((r) => r.method === 'DELETE')
        .map((r) => r.template),
    ).toEqual(['/{apiVersion}/networking/firewalls/{firewallId}'])
  })
})
