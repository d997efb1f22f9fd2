import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import {parse, stringify} from 'yaml'
import type {CliResult} from '../helpers/cli.js'
import type {Cloud} from '../helpers/cloud.js'
import {startBridgedCloud, type BridgedCloud} from '../helpers/deploy.js'
import {describeCertificate, isSignedBy} from '../../src/pki/x509.js'
import type {PkiState} from '../../src/pki/authority.js'
import {requireBinaries} from '../helpers/testbed.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {expectDocument} from '../helpers/json-schemas.js'

/**
 * The seed's phases 1.4-3 end to end: `fedobs cluster create --all`, `deploy hub`, `deploy edge`,
 * `connect` — against the fake Linode API bridged to real API servers, with the cloud controller
 * and CSI stand-ins giving the gateway its NodeBalancer and the queues their volumes.
 *
 * The story runs once, in a fixture that records what every step printed and what the clusters held
 * right after it; the tests judge those records and the connected federation, which none of them
 * changes (a test that adds something removes it when it finishes). Re-pointing the edge changes the
 * hub's address, so that test builds a small federation of its own. Any test passes alone and in any order.
 */
const binaries = requireBinaries(TESTBED_BINARIES)
const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'

/** Clients for the contexts of a sandbox's kubeconfig, and the reads of fedobs' state the tests share. */
function reader(cloud: Cloud, hub: string, edge: string) {
  const clients = (context: string) => {
    const config = new KubeConfig()
    config.loadFromFile(cloud.kubeconfig)
    config.setCurrentContext(context)
    return {core: config.makeApiClient(CoreV1Api), apps: config.makeApiClient(AppsV1Api), objects: KubernetesObjectApi.makeApiClient(config)}
  }
  const secretData = async (context: string, namespace: string, name: string): Promise<Record<string, string>> => {
    const secret = await clients(context).core.readNamespacedSecret({name, namespace})
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
  }
  const hubContext = `fedobs-${hub}`
  return {
    clients,
    secretData,
    agentConfig: async () => parse((await clients(`fedobs-${edge}`).core.readNamespacedConfigMap({name: 'otel-agent-config', namespace: 'observability'})).data!['config.yaml']!),
    pkiState: async (): Promise<PkiState> => JSON.parse((await secretData(hubContext, 'observability-hub', 'fedobs-pki'))['state.json']!),
    gatewayCertificate: async () => describeCertificate((await secretData(hubContext, 'observability-hub', 'otel-gateway-tls'))['tls.crt']!),
    firewallAcl: async () =>
      JSON.parse(
        (await clients(hubContext).core.readNamespacedService({name: 'otel-gateway-external', namespace: 'observability-hub'})).metadata!.annotations![
          'service.beta.kubernetes.io/linode-loadbalancer-firewall-acl'
        ]!,
      ),
    clusterId: (label: string) => [...cloud.fake.state.clusters.values()].find((c) => c.label === label)!.id,
    /** The hub's NodeBalancer in the fake cloud. */
    hubNodeBalancer: () => {
      const hubId = [...cloud.fake.state.clusters.values()].find((c) => c.label === hub)!.id
      return [...cloud.fake.state.nodeBalancers.values()].find((n) => n.lke_cluster?.id === hubId)!
    },
  }
}

/** Run a step of a fixture: it must succeed. */
async function step(cloud: Cloud, args: string[]): Promise<CliResult> {
  const result = await cloud.run(args)
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
  return result
}

describe.skipIf(!binaries.ok)('deploy hub, deploy edge and connect on real API servers', () => {
  describe('the seed federation, built once and only read', () => {
    let sandbox: BridgedCloud
    let testbed: Testbed
    let cloud: Cloud
    let read: ReturnType<typeof reader>
    const clients = (context: string) => read.clients(context)
    /** What each step printed, and what the clusters held right after it. */
    let story: {
      hub: CliResult
      afterHub: {
        pki: PkiState
        gatewayCert: Awaited<ReturnType<typeof describeCertificate>>
        trust: Record<string, string>
        hubClient: Record<string, string>
        acl: unknown
        firewall: ReturnType<Cloud['fake']['firewallOf']>
        grafanaPassword: string | undefined
      }
      hubAgain: CliResult
      grafanaPasswordAfterAgain: string | undefined
      edge: CliResult
      agentAfterEdge: any
      connect: CliResult
      connectAgain: CliResult
    }

    beforeAll(async () => {
      sandbox = await startBridgedCloud()
      ;({testbed, cloud} = sandbox)
      read = reader(cloud, HUB, EDGE)
      await step(cloud, ['cluster', 'create', '--all', '-f', EXAMPLE, '--timeout', '2h'])
      // Node objects follow the API's "ready" within moments.
      await waitFor(async () => (await clients(`fedobs-${HUB}`).core.listNode()).items.length === 4 && (await clients(`fedobs-${EDGE}`).core.listNode()).items.length === 3, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'all nodes',
      })
      const grafanaPassword = async () => (await clients(`fedobs-${HUB}`).core.readNamespacedSecret({name: 'grafana-admin', namespace: 'monitoring'})).data!['admin-password']

      const hub = await step(cloud, ['deploy', 'hub', '-f', EXAMPLE, '--timeout', '3m'])
      // The cloud controller (stand-in) puts a Cloud Firewall on the NodeBalancer: recorded once it is
      // there (or as it is after 20 s, for the test to judge).
      const nb = read.hubNodeBalancer()
      await waitFor(async () => cloud.fake.firewallOf(nb.id)?.rules.inbound_policy === 'ACCEPT', {timeoutMs: 20_000, intervalMs: 250, what: 'the firewall on the NodeBalancer'}).catch(() => undefined)
      const afterHub = {
        pki: await read.pkiState(),
        gatewayCert: await read.gatewayCertificate(),
        trust: await read.secretData(`fedobs-${HUB}`, 'observability-hub', 'otel-gateway-trust'),
        hubClient: await read.secretData(`fedobs-${HUB}`, 'observability', 'otel-gateway-client'),
        acl: await read.firewallAcl(),
        firewall: structuredClone(cloud.fake.firewallOf(nb.id)),
        grafanaPassword: await grafanaPassword(),
      }
      const hubAgain = await step(cloud, ['deploy', 'hub', '-f', EXAMPLE, '--json'])
      const grafanaPasswordAfterAgain = await grafanaPassword()
      const edge = await step(cloud, ['deploy', 'edge', EDGE, '-f', EXAMPLE, '--timeout', '3m'])
      const agentAfterEdge = await read.agentConfig()
      const connect = await step(cloud, ['connect', EDGE, 'hub', '-f', EXAMPLE, '--json'])
      const connectAgain = await step(cloud, ['connect', EDGE, 'hub', '-f', EXAMPLE, '--json'])
      story = {hub, afterHub, hubAgain, grafanaPasswordAfterAgain, edge, agentAfterEdge, connect, connectAgain}
    }, 900_000)

    afterAll(async () => {
      await sandbox?.stop()
    })

    it('deploy hub waits for every workload and the gateway NodeBalancer, and prints the address', async () => {
      const {hub: result, afterHub} = story
      expect(result.code, result.stderr).toBe(0)
      const nb = read.hubNodeBalancer()
      expect(nb.tags).toEqual(expect.arrayContaining(['fedobs', 'fedobs-federation:fed-observability', `fedobs-cluster:${HUB}`]))
      expect(result.stdout.trim()).toBe(`${nb.ipv4}:4317`)
      expect(result.stderr).toContain('Grafana admin password created in Secret monitoring/grafana-admin')
      // The persistent queue and the stores got tagged volumes through the StorageClass fedobs renders.
      const volumes = [...cloud.fake.state.volumes.values()].filter((v) => v.tags.includes(`fedobs-cluster:${HUB}`))
      expect(volumes.length).toBeGreaterThanOrEqual(4)
      const gateway = await clients(`fedobs-${HUB}`).apps.readNamespacedStatefulSet({name: 'otel-gateway', namespace: 'observability-hub'})
      expect(gateway.status?.readyReplicas).toBeGreaterThanOrEqual(1)
      const gpu = (await clients(`fedobs-${HUB}`).core.listNode()).items.filter((n) => n.metadata?.labels?.['nvidia.com/gpu.present'] === 'true')
      expect(gpu).toHaveLength(1)
      // Secure by default: the CA, the gateway's certificate for its NodeBalancer address, the trust
      // bundle and the hub's own credentials exist; nobody is let through the firewall yet.
      expect(result.stderr).toContain('federation CA created')
      const state = afterHub.pki
      expect(Object.keys(state.clusters)).toEqual([HUB])
      const gatewayCert = afterHub.gatewayCert
      expect(gatewayCert.ipAddresses).toContain(nb.ipv4)
      expect(gatewayCert.dnsNames).toContain('otel-gateway.observability-hub.svc.cluster.local')
      expect(gatewayCert.fingerprint).toBe(state.gateway!.fingerprint)
      const trust = afterHub.trust
      expect(trust['client-cas.pem']).toContain(state.clusters[HUB]!.ca.cert.trim())
      expect(JSON.parse(trust['jwks.json']!).keys[0].kid).toBe(state.tokenKey.kid)
      const hubClient = afterHub.hubClient
      expect(await isSignedBy(hubClient['tls.crt']!, state.clusters[HUB]!.ca.cert)).toBe(true)
      expect(Object.keys(hubClient).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key', 'token'])
      expect(afterHub.acl).toEqual({denyList: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}})
      expect(result.stderr).toContain(`does not let in ${EDGE} yet`)
      // The cloud controller (stand-in) put a Cloud Firewall on the NodeBalancer that drops everyone.
      expect(afterHub.firewall?.rules.inbound_policy, 'the firewall on the NodeBalancer').toBe('ACCEPT')
      expect(afterHub.firewall!.rules.inbound).toEqual([expect.objectContaining({action: 'DROP', protocol: 'TCP', ports: '4317,4318', addresses: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}})])
    })

    it('a second deploy hub changes nothing and keeps the Grafana password', async () => {
      const result = story.hubAgain
      const before = story.afterHub.grafanaPassword
      expect(before).toBeTruthy()
      expect(result.code, result.stderr).toBe(0)
      const doc = expectDocument('deploy-hub', result.stdout)
      expect(doc.counts).toMatchObject({created: 0, configured: 0})
      expect(doc.grafanaSecretCreated).toBe(false)
      expect(doc.pki).toEqual({caCreated: false, issued: []})
      expect(story.grafanaPasswordAfterAgain).toBe(before)
      expect((await clients(`fedobs-${HUB}`).core.readNamespacedSecret({name: 'grafana-admin', namespace: 'monitoring'})).data!['admin-password']).toBe(before)
      expect(result.stdout).not.toContain(Buffer.from(before!, 'base64').toString())
    })

    it('deploy edge leaves a new edge unconnected (and says so)', async () => {
      const result = story.edge
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toContain('is not connected yet')
      expect(Object.keys(story.agentAfterEdge.exporters)).toEqual(['debug/unconnected'])
    })

    it('connect points the edge at the gateway, then a second connect is a no-op', async () => {
      const hubAddress = story.hub.stdout.trim()
      const first = story.connect
      expect(first.code, first.stderr).toBe(0)
      const doc = expectDocument('connect', first.stdout)
      expect(doc).toMatchObject({edge: EDGE, hub: HUB, hubEndpoint: hubAddress, changed: true})
      const config = await read.agentConfig()
      expect(config.exporters['otlp_grpc/gateway'].endpoint).toBe(hubAddress)
      expect(config.processors['resource/cluster'].attributes).toContainEqual({key: 'cluster.id', value: EDGE, action: 'upsert'})
      const agent = await clients(`fedobs-${EDGE}`).apps.readNamespacedDaemonSet({name: 'otel-agent', namespace: 'observability'})
      expect(agent.status?.numberReady).toBe(3)
      // The edge holds credentials from its own CA, which the gateway now trusts; its nodes are let in.
      const state = await read.pkiState()
      const edgeClient = await read.secretData(`fedobs-${EDGE}`, 'observability', 'otel-gateway-client')
      expect(await isSignedBy(edgeClient['tls.crt']!, state.clusters[EDGE]!.ca.cert)).toBe(true)
      expect((await describeCertificate(edgeClient['tls.crt']!)).fingerprint).toBe(state.clusters[EDGE]!.client!.fingerprint)
      expect((await read.secretData(`fedobs-${HUB}`, 'observability-hub', 'otel-gateway-trust'))['client-cas.pem']).toContain(state.clusters[EDGE]!.ca.cert.trim())
      expect(doc.credentials).toMatchObject({cluster: EDGE, issued: true, reason: 'first credentials'})
      expect(doc.firewall.sources.length).toBeGreaterThan(0)
      const acl = await read.firewallAcl()
      expect([...(acl.allowList?.ipv4 ?? []), ...(acl.allowList?.ipv6 ?? [])].sort()).toEqual([...doc.firewall.sources].sort())
      // From the Linode API: exactly the public addresses of the edge's three Linodes, v4 and v6.
      const edgeId = read.clusterId(EDGE)
      const instances = cloud.fake.view().instances.filter((i) => i.lke_cluster_id === edgeId)
      expect(instances).toHaveLength(3)
      expect([...doc.firewall.sources].sort()).toEqual(instances.flatMap((i) => [`${i.ipv4[0]}/32`, i.ipv6!]).sort())
      // ... and the Cloud Firewall on the gateway's NodeBalancer admits exactly those.
      const nb = read.hubNodeBalancer()
      await waitFor(async () => cloud.fake.firewallOf(nb.id)?.rules.inbound_policy === 'DROP', {timeoutMs: 20_000, intervalMs: 250, what: 'the allow list on the NodeBalancer firewall'})
      const rule = cloud.fake.firewallOf(nb.id)!.rules.inbound![0]!
      expect(rule).toMatchObject({action: 'ACCEPT', protocol: 'TCP', ports: '4317,4318'})
      expect([...(rule.addresses.ipv4 ?? []), ...(rule.addresses.ipv6 ?? [])].sort()).toEqual([...doc.firewall.sources].sort())

      const second = story.connectAgain
      expect(second.code, second.stderr).toBe(0)
      const again = expectDocument('connect', second.stdout)
      expect(again.changed).toBe(false)
      expect(again.credentials).toMatchObject({cluster: EDGE, issued: false})
      expect(again.deploy.counts).toMatchObject({created: 0, configured: 0})
      const registry = await clients(`fedobs-${HUB}`).core.readNamespacedConfigMap({name: 'fedobs-cluster-ids', namespace: 'observability-hub'})
      expect(Object.keys(registry.data!).sort()).toEqual([EDGE, HUB].sort())
    }, 60_000)

    it('removes the seed edge-local stack only with --yes, and only what it can attribute', async () => {
      const {objects} = clients(`fedobs-${EDGE}`)
      await objects.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'monitoring'}}).catch(() => undefined)
      const workload = (kind: 'Deployment' | 'StatefulSet', name: string, configMap?: string) => ({
        apiVersion: 'apps/v1',
        kind,
        metadata: {name, namespace: 'monitoring', labels: {app: name}},
        spec: {
          ...(kind === 'StatefulSet' ? {serviceName: name} : {}),
          selector: {matchLabels: {app: name}},
          template: {
            metadata: {labels: {app: name}},
            spec: {
              containers: [{name, image: `seed/${name}:1`}],
              ...(configMap ? {volumes: [{name: 'config', configMap: {name: configMap}}]} : {}),
            },
          },
        },
      })
      const seedStack = [
        {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'prometheus-config', namespace: 'monitoring'}, data: {'prometheus.yml': 'global: {}\n'}},
        {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'grafana-dashboard-providers', namespace: 'monitoring'}, data: {'providers.yaml': 'apiVersion: 1\n'}},
        workload('Deployment', 'prometheus', 'prometheus-config'),
        workload('Deployment', 'grafana', 'grafana-dashboard-providers'),
        workload('StatefulSet', 'loki'),
        workload('StatefulSet', 'tempo'),
        ...['prometheus', 'grafana', 'loki', 'tempo'].map((name) => ({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {name, namespace: 'monitoring'},
          spec: {selector: {app: name}, ports: [{port: 80}]},
        })),
        // Not the seed's stack: must stay.
        workload('Deployment', 'my-app'),
        {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'my-config', namespace: 'monitoring'}, data: {a: 'b'}},
        {apiVersion: 'v1', kind: 'Service', metadata: {name: 'my-app', namespace: 'monitoring'}, spec: {selector: {app: 'my-app'}, ports: [{port: 80}]}},
      ]
      // Leave the edge as the fixture built it: none of these stays (the namespace does: the test bed has
      // no namespace controller to finish deleting it, and an empty one changes nothing for the others).
      onTestFinished(async () => {
        for (const object of seedStack) await objects.delete(object as never).catch(() => undefined)
      })
      for (const object of seedStack) await objects.create(object as never)

      const kept = await cloud.run(['connect', EDGE, 'hub', '-f', EXAMPLE])
      expect(kept.code, kept.stderr).toBe(0)
      expect(kept.stderr).toContain('re-run with --yes to remove it')
      expect((await clients(`fedobs-${EDGE}`).apps.listNamespacedDeployment({namespace: 'monitoring'})).items).toHaveLength(3)

      const removed = await cloud.run(['connect', EDGE, 'hub', '-f', EXAMPLE, '--yes', '--json'])
      expect(removed.code, removed.stderr).toBe(0)
      expect(JSON.parse(removed.stdout).localStack.removed.sort()).toEqual(
        [
          'ConfigMap monitoring/grafana-dashboard-providers',
          'ConfigMap monitoring/prometheus-config',
          'Deployment monitoring/grafana',
          'Deployment monitoring/prometheus',
          'Service monitoring/grafana',
          'Service monitoring/loki',
          'Service monitoring/prometheus',
          'Service monitoring/tempo',
          'StatefulSet monitoring/loki',
          'StatefulSet monitoring/tempo',
        ].sort(),
      )
      const {apps, core} = clients(`fedobs-${EDGE}`)
      expect((await apps.listNamespacedDeployment({namespace: 'monitoring'})).items.map((d) => d.metadata?.name)).toEqual(['my-app'])
      expect((await core.listNamespacedService({namespace: 'monitoring'})).items.map((s) => s.metadata?.name)).toEqual(['my-app'])
      expect((await core.listNamespacedConfigMap({namespace: 'monitoring'})).items.map((c) => c.metadata?.name).sort()).toEqual(['kube-root-ca.crt', 'my-config'])
    }, 240_000)

    it('verify reaches the hub Prometheus through the API server service proxy (and says why it cannot here)', async () => {
      // The proxy path is real: authenticated by the kubeconfig, resolved by the API server. In the
      // test bed nothing runs inside pods, so the Service has no usable endpoints and the API server
      // answers 503; verify must say so and exit 1 (not crash, not hang).
      const result = await cloud.run(['verify', '-f', EXAMPLE, '--skip-logs', '--skip-traces'])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/service monitoring\/prometheus \(context fedobs-fed-observability-test, server https?:\/\/[^)\s]+\)/)
      expect(result.stderr).toMatch(/answered 503|no endpoints available/)
    }, 60_000)

    it('refuses a cluster.id another cluster already uses', async () => {
      // A different Kubernetes cluster presented as the same edge; both go when the test ends (after
      // the --verbose re-run of the refused command, which is registered later and so runs first).
      const kubeconfig = readFileSync(cloud.kubeconfig, 'utf8')
      onTestFinished(async () => {
        writeFileSync(cloud.kubeconfig, kubeconfig, {mode: 0o600})
        await testbed.removeCluster('impostor')
      })
      const impostor = await testbed.addCluster({name: 'impostor', region: 'us-ord'})
      await impostor.addNode({plan: 'g6-standard-2', poolId: 9, instanceId: 9001})
      const merged = parse(kubeconfig)
      const theirs = parse(impostor.kubeconfig)
      merged.clusters.push(...theirs.clusters)
      merged.users.push(...theirs.users)
      merged.contexts.push(...theirs.contexts)
      writeFileSync(cloud.kubeconfig, stringify(merged), {mode: 0o600})
      const result = await cloud.run(['connect', EDGE, 'hub', '-f', EXAMPLE, '--edge-context', theirs.contexts[0].name])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`cluster.id "${EDGE}" is already used by another cluster`)
    }, 180_000)
  })

  describe('re-pointing, on a federation of its own (the hub address changes)', () => {
    it('re-running after the hub address changed re-points the edge', async () => {
      // The smallest federation that has a hub gateway and a connected edge.
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'fedobs-repoint-')), 'fedobs.yaml')
      const [hub, edge] = ['fed-repoint-hub', 'fed-repoint-edge']
      writeFileSync(
        file,
        stringify({
          apiVersion: 'fedobs/v1',
          name: 'fed-repoint',
          hub: {name: hub, region: 'us-ord', k8sVersion: '1.33', pools: [{type: 'g6-standard-4', count: 1}]},
          edges: [{name: edge, region: 'us-ord', k8sVersion: '1.33', pools: [{type: 'g6-standard-2', count: 1}]}],
          telemetry: {gateway: {replicas: 1, autoscaling: {enabled: false}}},
          inference: {enabled: false},
        }),
      )
      const sandbox = await startBridgedCloud()
      onTestFinished(() => sandbox.stop())
      const {cloud} = sandbox
      const read = reader(cloud, hub, edge)
      await step(cloud, ['cluster', 'create', '--all', '-f', file, '--timeout', '2h'])
      await step(cloud, ['deploy', 'hub', '-f', file, '--timeout', '3m'])
      await step(cloud, ['connect', edge, 'hub', '-f', file, '--timeout', '3m'])

      const before = (await read.agentConfig()).exporters['otlp_grpc/gateway'].endpoint
      expect(before).toBe(`${read.hubNodeBalancer().ipv4}:4317`)
      // The gateway's NodeBalancer is replaced (e.g. the Service was recreated): a new address.
      const {core} = read.clients(`fedobs-${hub}`)
      await core.deleteNamespacedService({name: 'otel-gateway-external', namespace: 'observability-hub'})
      await waitFor(
        async () =>
          core.readNamespacedService({name: 'otel-gateway-external', namespace: 'observability-hub'}).then(
            () => false,
            () => true,
          ),
        {timeoutMs: 30_000, intervalMs: 200, what: 'the old Service to go'},
      )
      const redeployed = await cloud.run(['deploy', 'hub', '-f', file])
      expect(redeployed.code, redeployed.stderr).toBe(0)
      const after = redeployed.stdout.trim()
      expect(after).not.toBe(before)
      const result = await cloud.run(['connect', edge, 'hub', '-f', file, '--json'])
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({previousEndpoint: before, hubEndpoint: after, changed: true})
      expect((await read.agentConfig()).exporters['otlp_grpc/gateway'].endpoint).toBe(after)
      // The gateway certificate was re-issued for the new address.
      expect((await read.gatewayCertificate()).ipAddresses).toContain(after.replace(/:4317$/, ''))
    }, 900_000)
  })
})
