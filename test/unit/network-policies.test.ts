import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import type {Federation} from '../../src/federation/model.js'
import {CLOSED_PORTS, FLOWS, flowsTable, networkPolicies, type Peer} from '../../src/render/network-policies.js'
import {LABELS, NAMESPACES, renderEdge, renderHub, type K8sObject, type Rendering} from '../../src/render/render.js'
import {REPO} from '../helpers/cli.js'
import {exampleFederation} from '../helpers/federation.js'

/**
 * The renderer side of the network policies. Whether the policies allow exactly the flows is
 * proven by a real policy engine in test/deploy/network-policies.test.ts.
 */
const federation = exampleFederation()
const EDGE = 'fed-observability-remote'
const noGpu = (f: Federation): Federation => ({...f, hub: {...f.hub, gpu: false}, edges: f.edges.map((e) => ({...e, gpu: false}))})
const withoutInference = (f: Federation): Federation => ({...f, inference: {...f.inference, enabled: false}})

const renderings: Array<[string, Rendering]> = [
  ['hub with GPUs and the inference demo', renderHub(federation)],
  ['hub without GPUs', renderHub(noGpu(federation))],
  ['edge with GPUs, connected', renderEdge(federation, EDGE, {hubEndpoint: '172.238.181.107:4317'})],
  ['edge with GPUs, without the inference demo', renderEdge(withoutInference(federation), EDGE, {hubEndpoint: '172.238.181.107:4317'})],
  ['edge without GPUs, not connected', renderEdge(noGpu(federation), EDGE)],
]

const policiesOf = (rendering: Rendering): K8sObject[] => rendering.objects.filter((o) => o.kind === 'NetworkPolicy')
const namespacesOf = (rendering: Rendering): string[] => rendering.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)
const spec = (policy: K8sObject): any => policy.spec

/** (namespace, app, port) of every container port of every workload. */
function containerPorts(rendering: Rendering): Array<{namespace: string; app: string; port: number}> {
  return rendering.objects.flatMap((object) => {
    const template = (object.spec as any)?.template
    if (!template) return []
    const app = template.metadata.labels[LABELS.name]
    return (template.spec.containers as any[]).flatMap((c) => (c.ports ?? []).map((p: any) => ({namespace: object.metadata.namespace!, app, port: p.containerPort})))
  })
}

const opensPort = (peer: Peer, namespace: string, app: string): boolean => peer.kind === 'pods' && peer.namespace === namespace && peer.app === app

describe.each(renderings)('the network policies of the %s', (_name, rendering) => {
  it('deny all ingress and egress in every namespace the rendering creates', () => {
    const denies = policiesOf(rendering).filter((p) => p.metadata.name === 'default-deny')
    expect(denies.map((p) => p.metadata.namespace).sort()).toEqual(namespacesOf(rendering).sort())
    for (const deny of denies) expect(spec(deny)).toEqual({podSelector: {}, policyTypes: ['Ingress', 'Egress']})
  })

  it('live only in namespaces fedobs creates, with names unique per namespace', () => {
    const owned = namespacesOf(rendering)
    const keys = policiesOf(rendering).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    for (const policy of policiesOf(rendering)) expect(owned).toContain(policy.metadata.namespace)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('open every port a workload listens on to its flow, or say why it stays closed', () => {
    for (const {namespace, app, port} of containerPorts(rendering)) {
      const opened = FLOWS.some((flow) => opensPort(flow.to, namespace, app) && flow.ports.some((p) => p.port === port))
      const closed = CLOSED_PORTS.some((c) => c.namespace === namespace && c.app === app && c.port === port)
      expect(opened || closed, `${namespace}/${app} port ${port} is neither opened by a flow nor in CLOSED_PORTS`).toBe(true)
      expect(opened && closed, `${namespace}/${app} port ${port} is both opened and listed as closed`).toBe(false)
    }
  })

  it('carry the common fedobs labels (added by the renderer)', () => {
    for (const policy of policiesOf(rendering)) expect(policy.metadata.labels).toMatchObject({[LABELS.managedBy]: 'fedobs', [LABELS.cluster]: rendering.cluster.name})
  })
})

describe('the flows table', () => {
  const hubPorts = containerPorts(renderHub(federation))
  const edgePorts = containerPorts(renderEdge(federation, EDGE, {hubEndpoint: '172.238.181.107:4317'}))
  const listening = [...hubPorts, ...edgePorts]

  it('names only ports that the destination workload listens on', () => {
    for (const flow of FLOWS) {
      const to = flow.to
      if (to.kind !== 'pods' || !to.app || to.labels) continue
      for (const {port} of flow.ports) {
        expect(
          listening.some((l) => l.namespace === to.namespace && l.app === to.app && l.port === port),
          `${to.namespace}/${to.app} does not listen on ${port}`,
        ).toBe(true)
      }
    }
  })

  it('names only the namespaces and apps fedobs renders, by the labels the renderer uses', () => {
    const fedobsNamespaces: string[] = Object.values(NAMESPACES)
    const apps = new Set(listening.map((l) => `${l.namespace}/${l.app}`))
    // Pods that fedobs renders without a port (nothing connects to them) still send.
    for (const object of [...renderHub(federation).objects, ...renderEdge(federation, EDGE).objects]) {
      const template = (object.spec as any)?.template
      if (template) apps.add(`${object.metadata.namespace}/${template.metadata.labels[LABELS.name]}`)
    }
    for (const peer of FLOWS.flatMap((f) => [...f.from, f.to])) {
      if (peer.kind !== 'pods' || !fedobsNamespaces.includes(peer.namespace)) continue
      if (peer.app) expect(apps, `${peer.namespace}/${peer.app}`).toContain(`${peer.namespace}/${peer.app}`)
    }
    for (const closed of CLOSED_PORTS) expect(listening).toContainEqual({namespace: closed.namespace, app: closed.app, port: closed.port})
    // Every namespace fedobs can create resolves names.
    const dns = FLOWS.find((f) => f.to.kind === 'pods' && f.to.labels?.['k8s-app'] === 'kube-dns')!
    expect(dns.from.map((p) => (p.kind === 'pods' ? p.namespace : p.kind)).sort()).toEqual([...fedobsNamespaces].sort())
    const policy = networkPolicies(federation, federation.hub, fedobsNamespaces).find((p) => p.metadata.name === 'prometheus-ingress')!
    expect(spec(policy).podSelector).toEqual({matchLabels: {[LABELS.name]: 'prometheus'}})
  })

  it('is the table of the README section "Network policies"', () => {
    const readme = readFileSync(`${REPO}README.md`, 'utf8')
    const section = /^### Network policies\n([\s\S]*?)(?=^#{1,3} )/m.exec(`${readme}\n# end`)?.[1]
    expect(section, 'README.md has no section "### Network policies" (paste /tmp/netpol-readme-section.md)').toBeDefined()
    const table = section!
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .join('\n')
    expect(table).toBe(flowsTable())
  })
})

describe('egress from an edge to the hub gateway', () => {
  const edge = federation.edges[0]!
  const owned = [NAMESPACES.observability, NAMESPACES.inference]
  const agentEgress = (hubEndpoint?: string): any[] => spec(networkPolicies(federation, edge, owned, hubEndpoint).find((p) => p.metadata.name === 'otel-agent-egress')!).egress

  it('is pinned to the gateway IP when the endpoint is an IPv4 address', () => {
    expect(agentEgress('172.238.181.107:4317')).toContainEqual({to: [{ipBlock: {cidr: '172.238.181.107/32'}}], ports: [{protocol: 'TCP', port: 4317}]})
  })

  it('is pinned to the gateway IP when the endpoint is an IPv6 address, on its port', () => {
    expect(agentEgress('[2600:3c00::f03c:91ff:fe93:1]:443')).toContainEqual({to: [{ipBlock: {cidr: '2600:3c00::f03c:91ff:fe93:1/128'}}], ports: [{protocol: 'TCP', port: 443}]})
  })

  it('opens the port to any address when the endpoint is a host name (its addresses are not known)', () => {
    expect(agentEgress('otel.example.com:4317')).toContainEqual({ports: [{protocol: 'TCP', port: 4317}]})
  })

  it('does not exist while the edge is not connected', () => {
    const egress = agentEgress(undefined)
    expect(egress.some((rule) => rule.ports.some((p: any) => p.port === 4317))).toBe(false)
  })

  it('follows the endpoint given to renderEdge (the policy file of a connected edge)', () => {
    const rendering = renderEdge(federation, EDGE, {hubEndpoint: '172.238.181.107:4317'})
    const policy = rendering.objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'otel-scraper-egress')!
    expect(spec(policy).egress).toContainEqual({to: [{ipBlock: {cidr: '172.238.181.107/32'}}], ports: [{protocol: 'TCP', port: 4317}]})
  })

  it('is never rendered on the hub, whose collectors use the gateway Service', () => {
    const hub = networkPolicies(federation, federation.hub, Object.values(NAMESPACES), 'otel-gateway.observability-hub.svc.cluster.local:4317')
    expect(JSON.stringify(hub)).not.toContain('ipBlock')
  })
})

describe('rendering the policies', () => {
  it('is deterministic', () => {
    const once = networkPolicies(federation, federation.hub, Object.values(NAMESPACES))
    expect(networkPolicies(federation, federation.hub, Object.values(NAMESPACES))).toEqual(once)
  })
})
