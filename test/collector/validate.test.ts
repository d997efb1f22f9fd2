import {execFile} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {VERSIONS} from '../../src/render/images.js'
import {renderEdge, renderHub, type K8sObject} from '../../src/render/render.js'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {exampleFederation, find} from '../helpers/federation.js'
import {TestPki, withMounts} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'

const run = promisify(execFile)
const binaries = requireBinaries(['FEDOBS_OTELCOL'])
const federation = exampleFederation()
const hub = renderHub(federation).objects
const edge = renderEdge(federation, 'fed-observability-remote', {hubEndpoint: '203.0.113.7:4317'}).objects
const unconnected = renderEdge(federation, 'fed-observability-remote').objects

const EDGE = 'fed-observability-remote'
/** Which cluster's Secret volumes each config mounts (gateway: its own). */
const CONFIGS: Array<[string, K8sObject[], string, string, string]> = [
  ['gateway', hub, 'otel-gateway-config', 'observability-hub', 'gateway'],
  ['hub agent', hub, 'otel-agent-config', 'observability', federation.hub.name],
  ['hub scraper', hub, 'otel-scraper-config', 'observability', federation.hub.name],
  ['edge agent', edge, 'otel-agent-config', 'observability', EDGE],
  ['edge scraper', edge, 'otel-scraper-config', 'observability', EDGE],
  ['unconnected edge agent', unconnected, 'otel-agent-config', 'observability', EDGE],
]

/**
 * Outside a cluster, validate cannot read in-cluster credentials, the Secrets a pod mounts, or
 * write /var/lib: the only changes are kubelet_stats reading a (dummy) kubeconfig, file_storage
 * writing to a temp dir, and the Secret mounts being local directories with real credentials from
 * the federation CA (the oidc extension reads its JWKS file at validation).
 */
function validationVariant(config: any, dir: string, mounts: Record<string, string>): any {
  const copy = withMounts(structuredClone(config), mounts)
  if (copy.receivers?.kubelet_stats) copy.receivers.kubelet_stats.auth_type = 'kubeConfig'
  for (const [name, extension] of Object.entries<any>(copy.extensions ?? {})) {
    if (!name.startsWith('file_storage')) continue
    extension.directory = path.join(dir, name.replace('/', '-'))
    if (extension.compaction) extension.compaction.directory = extension.directory
  }
  return copy
}

const DUMMY_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

describe.skipIf(!binaries.ok)(`rendered collector configs on the real collector ${VERSIONS.otelCollector}`, () => {
  const otelcol = binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : ''
  let pki: TestPki
  const mountsFor = (who: string): Record<string, string> => (who === 'gateway' ? pki.gatewayMounts() : pki.clientMounts(who))

  beforeAll(async () => {
    pki = await TestPki.create(mkdtempSync(path.join(tmpdir(), 'fedobs-otelcol-pki-')), federation.name, {
      gatewayAddresses: ['203.0.113.7'],
      clusters: [
        {name: federation.hub.name, role: 'hub'},
        {name: EDGE, role: 'edge'},
      ],
    })
  })

  it('is the release the manifests pin', async () => {
    const {stdout} = await run(otelcol, ['--version'])
    expect(stdout).toContain(VERSIONS.otelCollector)
  })

  for (const [label, objects, name, namespace, mounts] of CONFIGS) {
    it(`${label} passes otelcol validate`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-otelcol-'))
      const config = parse((find(objects, 'ConfigMap', name, namespace) as any).data['config.yaml'])
      const file = path.join(dir, 'config.yaml')
      writeFileSync(file, emitYaml(validationVariant(config, dir, mountsFor(mounts))))
      writeFileSync(path.join(dir, 'kubeconfig'), DUMMY_KUBECONFIG)
      const workload = objects.find(
        (o) => ['DaemonSet', 'Deployment', 'StatefulSet'].includes(o.kind) && (o.spec as any).template.spec.volumes?.some((v: {configMap?: {name: string}}) => v.configMap?.name === name),
      ) as any
      const extraArgs = (workload.spec.template.spec.containers[0].args as string[]).filter((a) => !a.startsWith('--config='))
      const result = await run(otelcol, ['validate', `--config=${file}`, ...extraArgs], {
        env: {
          ...process.env,
          KUBECONFIG: path.join(dir, 'kubeconfig'),
          POD_NAME: 'otel-gateway-0',
          K8S_NODE_IP: '10.0.0.1',
          K8S_NODE_NAME: 'n',
          K8S_POD_NAME: 'otel-agent-x',
          K8S_POD_NAMESPACE: 'observability',
        },
      }).catch((error: unknown) => ({stdout: '', stderr: (error as {stderr?: string}).stderr ?? (error instanceof Error ? error.message : String(error)), failed: true}))
      expect((result as {failed?: boolean}).failed ? result.stderr : '').toBe('')
    })
  }

  it('catches a wrong component name (the check can fail)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-otelcol-'))
    const config = parse((find(edge, 'ConfigMap', 'otel-agent-config', 'observability') as any).data['config.yaml'])
    config.receivers.kubeletstatz = config.receivers.kubelet_stats
    const file = path.join(dir, 'config.yaml')
    writeFileSync(file, emitYaml(validationVariant(config, dir, mountsFor(EDGE))))
    await expect(run(otelcol, ['validate', `--config=${file}`])).rejects.toMatchObject({stderr: expect.stringContaining('kubeletstatz')})
  })
})
