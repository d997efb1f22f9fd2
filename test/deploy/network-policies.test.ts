import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {request, type RequestOptions} from 'node:https'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {CoreV1Api, KubeConfig, type V1Pod} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {loadFederation} from '../../src/federation/load.js'
import {renderEdge, renderHub, type K8sObject} from '../../src/render/render.js'
import type {Cloud} from '../helpers/cloud.js'
import {startBridgedCloud, type BridgedCloud} from '../helpers/deploy.js'
import {REPO} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES} from '../../src/sandbox/testbed/testbed.js'

/**
 * The network policies, judged by a real policy engine: the hub and an edge are deployed with the
 * CLI onto test-bed API servers (kwok runs the pods, with their real labels), then cyclonus reads
 * the NetworkPolicies back from each API server and says, for every pod pair and every port,
 * whether the traffic is allowed. That matrix must be the one the README's table of intended flows
 * describes: allowed exactly where a row says so, denied everywhere else.
 *
 * The hub has a GPU and runs the inference demo; the edge has no GPU and is connected to the hub.
 */
const binaries = requireBinaries([...TESTBED_BINARIES, 'FEDOBS_CYCLONUS'])
const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'
const APP = 'app.kubernetes.io/name'
/** A documentation address (RFC 5737) standing for everything outside the cluster. */
const INTERNET = '203.0.113.10'

// ---------------------------------------------------------------- the README's table

interface FlowRow {
  line: number
  from: string[]
  to: string
  ports: PortProtocol[]
  where: string[]
}
interface PortProtocol {
  port: number
  protocol: 'TCP' | 'UDP'
}

/** The rows of the Markdown table in README.md's section "### Network policies". */
function readmeFlows(): FlowRow[] {
  const lines = readFileSync(`${REPO}README.md`, 'utf8').split('\n')
  const start = lines.findIndex((l) => l.trim() === '### Network policies')
  if (start === -1) throw new Error('README.md has no section "### Network policies" with the table of intended flows')
  const end = lines.findIndex((l, i) => i > start && /^#{1,3} /.test(l))
  const table = lines
    .slice(start + 1, end === -1 ? undefined : end)
    .map((text, i) => ({text, line: start + 2 + i}))
    .filter((l) => l.text.startsWith('|'))
  const cells = (text: string): string[] =>
    text
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim())
  const header = cells(table[0]?.text ?? '')
  const column = (name: string): number => {
    const index = header.indexOf(name)
    if (index === -1) throw new Error(`README "Network policies" table: no column "${name}" (columns: ${header.join(', ')})`)
    return index
  }
  const [from, to, ports, where] = [column('from'), column('to'), column('ports'), column('where')]
  return table.slice(2).map(({text, line}) => {
    const row = cells(text)
    const portList = [...row[ports]!.matchAll(/(\d+)\/(TCP|UDP)/g)].map((m) => ({port: Number(m[1]), protocol: m[2] as 'TCP' | 'UDP'}))
    if (portList.length === 0) throw new Error(`README.md:${line}: no port in "${row[ports]}"`)
    return {line, from: row[from]!.split(/,\s+/), to: row[to]!, ports: portList, where: row[where]!.split('+').map((w) => w.trim())}
  })
}

// ---------------------------------------------------------------- endpoints and the expected matrix

/** A pod of the cluster, or an address outside it. */
interface Endpoint {
  name: string
  ip: string
  pod?: {namespace: string; name: string; labels: Record<string, string>; namespaceLabels: Record<string, string>; ports: Map<string, string>}
}

interface ClusterFacts {
  /** Conditions of the table's "where" column that hold on this cluster. */
  conditions: Set<string>
  /** Namespaces fedobs created (labelled managed-by=fedobs). */
  owned: Set<string>
  hubGatewayIp?: string
}

function peerMatches(peer: string, endpoint: Endpoint, facts: ClusterFacts): boolean {
  if (peer === 'anywhere') return true
  if (peer === 'other namespaces') return endpoint.pod !== undefined && !facts.owned.has(endpoint.pod.namespace)
  if (peer === 'hub gateway address') return facts.hubGatewayIp !== undefined && endpoint.ip === facts.hubGatewayIp
  const match = /^`([^/`]+)\/([^`]+)`$/.exec(peer)
  if (!match) throw new Error(`README "Network policies" table: unknown peer ${JSON.stringify(peer)}`)
  const [, namespace, selector] = match
  const pod = endpoint.pod
  if (!pod || pod.namespace !== namespace) return false
  if (selector === '*') return true
  if (selector!.includes('=')) return selector!.split(',').every((pair) => pod.labels[pair.split('=')[0]!] === pair.split('=')[1])
  return pod.labels[APP] === selector
}

/** A peer that names pods (`ns/app`, `ns/*`, `ns/key=value`): only those get egress opened by a row. */
const namesPods = (peer: string): boolean => peer.startsWith('`')

/**
 * What the table means: a pod in a namespace fedobs owns sends only what a row lets the pods it
 * names under "from" send, and receives only what a row lets the pods it names under "to" receive.
 */
function expectedAllowed(rows: FlowRow[], source: Endpoint, destination: Endpoint, port: PortProtocol, facts: ClusterFacts): boolean {
  const applicable = rows.filter((r) => r.where.every((w) => w === 'all' || facts.conditions.has(w)))
  const onPort = (r: FlowRow): boolean => r.ports.some((p) => p.port === port.port && p.protocol === port.protocol)
  const governed = (e: Endpoint): boolean => e.pod !== undefined && facts.owned.has(e.pod.namespace)
  const egress = !governed(source) || applicable.some((r) => onPort(r) && r.from.some((p) => namesPods(p) && peerMatches(p, source, facts)) && peerMatches(r.to, destination, facts))
  const ingress = !governed(destination) || applicable.some((r) => onPort(r) && namesPods(r.to) && peerMatches(r.to, destination, facts) && r.from.some((p) => peerMatches(p, source, facts)))
  return egress && ingress
}

// ---------------------------------------------------------------- cyclonus

interface Query {
  source: Endpoint
  destination: Endpoint
  port: PortProtocol
}

function trafficPeer(endpoint: Endpoint): unknown {
  const pod = endpoint.pod
  return {IP: endpoint.ip, ...(pod ? {Internal: {PodLabels: pod.labels, NamespaceLabels: pod.namespaceLabels, Namespace: pod.namespace}} : {})}
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout: Buffer.concat(out).toString('utf8'), stderr}))
  })
}

/**
 * `cyclonus analyze` with the policies of every namespace read from the API server of `context`:
 * the policies it parsed, and for each query whether the traffic is allowed.
 */
async function cyclonus(kubeconfig: string, context: string, queries: Query[]): Promise<{policies: string; allowed: boolean[]}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-cyclonus-'))
  const trafficFile = path.join(dir, 'traffic.json')
  const traffic = queries.map((q) => ({
    Source: trafficPeer(q.source),
    Destination: trafficPeer(q.destination),
    Protocol: q.port.protocol,
    ResolvedPort: q.port.port,
    ResolvedPortName: q.destination.pod?.ports.get(`${q.port.port}/${q.port.protocol}`) ?? '',
  }))
  writeFileSync(trafficFile, JSON.stringify(traffic))
  const result = await run(
    binaries.ok ? binaries.paths.FEDOBS_CYCLONUS! : 'cyclonus',
    ['analyze', '--all-namespaces', '--context', context, '--mode', 'parse,query-traffic', '--traffic-path', trafficFile],
    {KUBECONFIG: kubeconfig},
  )
  // cyclonus logs a failed read from the API server and goes on with no policies: never accept that.
  expect(result.stderr, 'cyclonus complained').not.toMatch(/level=(error|fatal|panic)/)
  expect(result.code, result.stderr).toBe(0)
  const [policies, answers] = result.stdout.split(/^query traffic:$/m)
  const allowed = [...(answers ?? '').matchAll(/^\| IS ALLOWED\? \|\s*(TRUE|FALSE)\s*\|/gm)].map((m) => m[1] === 'TRUE')
  expect(allowed.length, 'one cyclonus answer per query').toBe(queries.length)
  return {policies: policies ?? '', allowed}
}

/**
 * A request to the API server in plain JSON. Not through the client's typed models: they know a
 * NetworkPolicy's `from` as `_from`, and silently drop `from` from what they send.
 */
async function apiRequest(kc: KubeConfig, method: 'GET' | 'PATCH', apiPath: string, body?: {contentType: string; data: unknown}): Promise<any> {
  const options: RequestOptions = {method, headers: body ? {'Content-Type': body.contentType} : {}}
  await kc.applyToHTTPSOptions(options)
  const url = new URL(apiPath, kc.getCurrentCluster()!.server)
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => (res.statusCode === 200 || res.statusCode === 201 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${apiPath}: ${res.statusCode} ${text.slice(0, 500)}`))))
    })
    req.on('error', reject)
    req.end(body ? JSON.stringify(body.data) : undefined)
  })
}

// ---------------------------------------------------------------- the test

describe.skipIf(!binaries.ok)('network policies on real API servers, judged by cyclonus', () => {
  let sandbox: BridgedCloud
  let cloud: Cloud
  let federationFile: string
  let hubEndpoint: string

  const config = (context: string): KubeConfig => {
    const kc = new KubeConfig()
    kc.loadFromFile(cloud.kubeconfig)
    kc.setCurrentContext(context)
    return kc
  }
  const core = (cluster: string): CoreV1Api => config(`fedobs-${cluster}`).makeApiClient(CoreV1Api)

  /** Pods that LKE runs and fedobs does not render, and a workload of the user's. */
  async function addStandIns(cluster: string): Promise<void> {
    const pod = (namespace: string, name: string, labels: Record<string, string>, ports: Array<{name: string; containerPort: number; protocol: string}>): V1Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name, namespace, labels},
      spec: {containers: [{name, image: `stand-in/${name}:1`, ports}]},
    })
    const api = core(cluster)
    await api.createNamespacedPod({
      namespace: 'kube-system',
      body: pod('kube-system', 'coredns', {'k8s-app': 'kube-dns'}, [
        {name: 'dns', containerPort: 53, protocol: 'UDP'},
        {name: 'dns-tcp', containerPort: 53, protocol: 'TCP'},
      ]),
    })
    await api.createNamespacedPod({namespace: 'kube-system', body: pod('kube-system', 'konnectivity-agent', {'k8s-app': 'konnectivity-agent'}, [])})
    await api.createNamespacedPod({namespace: 'default', body: pod('default', 'workload', {app: 'workload'}, [{name: 'http', containerPort: 8080, protocol: 'TCP'}])})
  }

  beforeAll(async () => {
    // The seed federation, smaller: a hub with one GPU node, an edge without GPUs.
    const federation = parse(readFileSync(`${REPO}examples/fedobs.yaml`, 'utf8'))
    federation.hub.pools = [
      {type: 'g6-standard-4', count: 1},
      {type: 'g2-gpu-rtx4000a1-s', count: 1},
    ]
    federation.edges = [{name: EDGE, region: 'us-ord', k8sVersion: '1.33', pools: [{type: 'g6-standard-2', count: 2}]}]
    // Two gateway replicas (no HPA: nothing scales here), so two pods of one app face each other too.
    federation.telemetry.gateway = {replicas: 2, autoscaling: {enabled: false}}
    federationFile = path.join(mkdtempSync(path.join(tmpdir(), 'fedobs-netpol-')), 'fedobs.yaml')
    writeFileSync(federationFile, stringify(federation))

    sandbox = await startBridgedCloud()
    ;({cloud} = sandbox)
    const created = await cloud.run(['cluster', 'create', '--all', '-f', federationFile, '--timeout', '2h'])
    expect(created.code, created.stderr).toBe(0)
    await waitFor(async () => (await core(HUB).listNode()).items.length === 2 && (await core(EDGE).listNode()).items.length === 2, {timeoutMs: 60_000, intervalMs: 250, what: 'all nodes'})
    await Promise.all([addStandIns(HUB), addStandIns(EDGE)])

    const hub = await cloud.run(['deploy', 'hub', '-f', federationFile, '--timeout', '5m'])
    expect(hub.code, hub.stderr).toBe(0)
    hubEndpoint = hub.stdout.trim()
    const edge = await cloud.run(['deploy', 'edge', EDGE, '-f', federationFile, '--timeout', '5m'])
    expect(edge.code, edge.stderr).toBe(0)
    const connected = await cloud.run(['connect', EDGE, 'hub', '-f', federationFile, '--yes', '--timeout', '5m'])
    expect(connected.code, connected.stderr).toBe(0)
  }, 900_000)

  afterAll(async () => {
    await sandbox?.stop()
  })

  /** What fedobs rendered for the cluster, as deploy and connect rendered it. */
  const rendered = (cluster: string): K8sObject[] => {
    const federation = loadFederation({file: federationFile})
    const rendering = cluster === HUB ? renderHub(federation) : renderEdge(federation, EDGE, {hubEndpoint})
    return rendering.objects.filter((o) => o.kind === 'NetworkPolicy')
  }

  describe.each([HUB, EDGE])('on %s', (cluster) => {
    it('the API server accepts every rendered policy unchanged (server-side apply, dry run, strict field validation)', async () => {
      const kc = config(`fedobs-${cluster}`)
      for (const policy of rendered(cluster)) {
        const apply = `/apis/networking.k8s.io/v1/namespaces/${policy.metadata.namespace}/networkpolicies/${policy.metadata.name}?dryRun=All&fieldManager=fedobs&force=true&fieldValidation=Strict`
        const result = await apiRequest(kc, 'PATCH', apply, {contentType: 'application/apply-patch+yaml', data: policy})
        expect(result.spec, `${policy.metadata.namespace}/${policy.metadata.name}`).toEqual(policy.spec)
      }
    }, 60_000)

    it('deploy and connect left exactly the rendered policies on the API server', async () => {
      const policies = rendered(cluster)
      expect(policies.length).toBeGreaterThan(0)
      const onServer: K8sObject[] = (await apiRequest(config(`fedobs-${cluster}`), 'GET', '/apis/networking.k8s.io/v1/networkpolicies')).items
      expect(onServer.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort())
      for (const policy of policies) {
        const live = onServer.find((p) => p.metadata.namespace === policy.metadata.namespace && p.metadata.name === policy.metadata.name)!
        expect(live.spec, `${policy.metadata.namespace}/${policy.metadata.name} on the server`).toEqual(policy.spec)
      }
    }, 60_000)

    it('cyclonus allows exactly the flows of the README table, for every pod pair and port', async () => {
      const rows = readmeFlows()
      const api = core(cluster)
      const namespaces = (await api.listNamespace()).items
      const facts: ClusterFacts = {
        conditions: new Set(cluster === HUB ? ['hub', 'GPU', 'inference'] : ['edge', 'connected']),
        owned: new Set(namespaces.filter((n) => n.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'fedobs').map((n) => n.metadata!.name!)),
        ...(cluster === EDGE ? {hubGatewayIp: hubEndpoint.replace(/:\d+$/, '')} : {}),
      }
      expect([...facts.owned].sort()).toEqual(cluster === HUB ? ['bert-inference', 'monitoring', 'observability', 'observability-hub'] : ['observability'])
      const namespaceLabels = new Map(namespaces.map((n) => [n.metadata!.name!, n.metadata!.labels ?? {}]))

      const pods = await waitFor(
        async () => {
          const items = (await api.listPodForAllNamespaces()).items
          return items.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? items : undefined
        },
        {timeoutMs: 60_000, intervalMs: 500, what: 'every pod Running with an IP'},
      )
      const endpoints: Endpoint[] = pods.map((p) => {
        const labels = p.metadata!.labels ?? {}
        const ports = new Map(p.spec!.containers.flatMap((c) => (c.ports ?? []).map((port) => [`${port.containerPort}/${port.protocol ?? 'TCP'}`, port.name ?? ''] as const)))
        const workload = labels[APP] ?? labels['k8s-app'] ?? labels.app ?? p.metadata!.name!
        return {
          name: `${p.metadata!.namespace}/${workload}`,
          ip: p.status!.podIP!,
          pod: {namespace: p.metadata!.namespace!, name: p.metadata!.name!, labels, namespaceLabels: namespaceLabels.get(p.metadata!.namespace!)!, ports},
        }
      })
      const workloads = new Set(endpoints.map((e) => e.name))
      const expectedWorkloads =
        cluster === HUB
          ? [
              'monitoring/prometheus',
              'monitoring/loki',
              'monitoring/tempo',
              'monitoring/grafana',
              'monitoring/dcgm-exporter',
              'observability-hub/otel-gateway',
              'observability/otel-agent',
              'observability/otel-scraper',
              'observability/kube-state-metrics',
              'bert-inference/bert-inference',
              'kube-system/nvidia-device-plugin',
            ]
          : ['observability/otel-agent', 'observability/otel-scraper', 'observability/kube-state-metrics']
      for (const name of [...expectedWorkloads, 'kube-system/kube-dns', 'kube-system/konnectivity-agent', 'default/workload']) expect(workloads, name).toContain(name)
      const outside: Endpoint[] = [{name: `internet ${INTERNET}`, ip: INTERNET}, ...(facts.hubGatewayIp ? [{name: `hub gateway ${facts.hubGatewayIp}`, ip: facts.hubGatewayIp}] : [])]

      // Every port the table names and every port a pod listens on, on every pair.
      const portKeys = new Set(
        [...rows.flatMap((r) => r.ports), ...endpoints.flatMap((e) => [...e.pod!.ports.keys()].map((k) => ({port: Number(k.split('/')[0]), protocol: k.split('/')[1] as 'TCP' | 'UDP'})))].map(
          (p) => `${p.port}/${p.protocol}`,
        ),
      )
      const ports = [...portKeys].sort().map((k) => ({port: Number(k.split('/')[0]), protocol: k.split('/')[1] as 'TCP' | 'UDP'}))
      const everyone = [...endpoints, ...outside]
      const queries: Query[] = []
      for (const source of everyone) {
        for (const destination of everyone) {
          // A pod talking to itself never meets a policy; nothing outside is judged against itself.
          if (source === destination || (!source.pod && !destination.pod)) continue
          for (const port of ports) queries.push({source, destination, port})
        }
      }

      const answer = await cyclonus(cloud.kubeconfig, `fedobs-${cluster}`, queries)
      for (const policy of rendered(cluster)) expect(answer.policies, 'cyclonus read the policies from the API server').toContain(`${policy.metadata.namespace}/${policy.metadata.name}`)

      const differences = new Set<string>()
      let allowed = 0
      queries.forEach((query, i) => {
        const expected = expectedAllowed(rows, query.source, query.destination, query.port, facts)
        const actual = answer.allowed[i]!
        if (actual) allowed++
        if (expected !== actual) {
          differences.add(
            `${query.source.name} → ${query.destination.name} ${query.port.port}/${query.port.protocol}: the table says ${expected ? 'allow' : 'deny'}, the policies ${actual ? 'allow' : 'deny'}`,
          )
        }
      })
      console.error(`[network policies] ${cluster}: ${endpoints.length} pods, ${outside.length} addresses outside, ${ports.length} ports: ${queries.length} queries, ${allowed} allowed`)
      const report = [...differences].sort()
      expect(report, `${report.length} (source, destination, port) differ:\n${report.slice(0, 60).join('\n')}`).toEqual([])
      // A matrix of one colour proves nothing: both answers must occur.
      expect(allowed).toBeGreaterThan(0)
      expect(allowed).toBeLessThan(queries.length)
    }, 120_000)
  })
})
