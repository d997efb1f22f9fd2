/**
 * One Kubernetes cluster of the test bed: kube-apiserver (on the shared etcd, under its own
 * prefix), kube-controller-manager, kube-scheduler and kwok, each a process with a log file in the
 * cluster's directory. Nodes are kwok's fake nodes, shaped like LKE's.
 */
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {request} from 'node:https'
import type {V1Node} from '@kubernetes/client-node'
import {clientsFor, ignoreStatus, kubeconfigYaml, type Clients} from './kube.js'
import {freePort, GiveUp, probe, waitFor} from './net.js'
import {lkeNode, nodeName, type NodeSpec} from './nodes.js'
import {startProcess, type Managed} from './processes.js'

export interface Binaries {
  apiserver: string
  controllerManager: string
  scheduler: string
  kwok: string
}

export interface ClusterOptions {
  /** A DNS-label-like name: the etcd prefix (/fedobs-<name>) and, without lkeId, the kubeconfig names. */
  name: string
  /** The LKE cluster id: kubeconfig names lke<ID>, lke<ID>-admin, lke<ID>-ctx and node names lke<ID>-<pool>-<hex>. */
  lkeId?: number
  /** Default region label of its nodes. */
  region?: string
  /** The admin bearer token (e.g. the fake Linode's kubeToken of the LKE cluster); random when left out. */
  token?: string
  /** The podCIDR of the n-th node added (kwok gives pods IPs from it); none when left out. */
  podCidr?: (node: number) => string
  /**
   * Serve the kubelet API through the API server (pods/portforward), as `kubectl port-forward` uses
   * it: kwok answers it on 127.0.0.1, nodes get InternalIP 127.0.0.1 and kwok's port as their kubelet
   * port, and kwok forwards what its PortForward / ClusterPortForward objects (kwok.x-k8s.io/v1alpha1,
   * CRDs installed here) say. Off by default: nodes keep their 127.<index>.x.y addresses.
   */
  kubeletApi?: boolean
}

export interface TestCluster {
  readonly name: string
  readonly lkeId: number | undefined
  /** https://127.0.0.1:PORT */
  readonly server: string
  /** LKE-shaped, self-contained kubeconfig YAML (admin token, inline CA). */
  readonly kubeconfig: string
  readonly kubeconfigFile: string
  readonly dir: string
  readonly token: string
  /** Its cluster/user/context names' stem: lke<ID> or the cluster name. */
  readonly contextName: string
  readonly version: string
  readonly processes: readonly Managed[]
  clients(): Clients
  addNode(spec: NodeSpec): Promise<V1Node>
  removeNode(name: string): Promise<void>
  /** Resident memory of its processes, MiB. */
  rssMiB(): number
  isRunning(): boolean
  stop(): Promise<void>
}

export interface StartClusterContext {
  binaries: Binaries
  etcdUrl: string
  dir: string
  /** 1..250: the second octet of its 127.x node and pod addresses. */
  index: number
  timeoutMs: number
}

const SERVICE_CIDR = '10.96.0.0/16'

function writeCredentials(dir: string, token: string): {saKey: string; saPub: string; tokens: string} {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1', privateKeyEncoding: {type: 'pkcs8', format: 'pem'}, publicKeyEncoding: {type: 'spki', format: 'pem'}})
  const files = {saKey: path.join(dir, 'sa.key'), saPub: path.join(dir, 'sa.pub'), tokens: path.join(dir, 'tokens.csv')}
  writeFileSync(files.saKey, privateKey, {mode: 0o600})
  writeFileSync(files.saPub, publicKey)
  writeFileSync(files.tokens, `${token},fedobs-admin,fedobs-admin,"system:masters"\n`, {mode: 0o600})
  return files
}

export async function startCluster(options: ClusterOptions, context: StartClusterContext): Promise<TestCluster> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name)) throw new Error(`cluster name ${JSON.stringify(options.name)} is not a DNS label`)
  const {binaries, dir, index} = context
  mkdirSync(dir, {recursive: true})
  const token = options.token ?? randomBytes(24).toString('hex')
  const credentials = writeCredentials(dir, token)
  const certDir = path.join(dir, 'pki')
  const [apiPort, kcmPort, schedulerPort, kwokPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const server = `https://127.0.0.1:${apiPort}`
  const log = (name: string): {logFile: string} => ({logFile: path.join(dir, `${name}.log`)})
  const processes: Managed[] = []
  const stopAll = async (): Promise<void> => {
    await Promise.all([...processes].reverse().map((p) => p.stop()))
  }
  const mustRun = (): void => {
    const dead = processes.find((p) => !p.isRunning())
    if (dead) throw new GiveUp(`${options.name}: ${dead.name} exited during start-up:\n${dead.logTail()}`)
  }

  try {
    processes.push(
      startProcess(
        'kube-apiserver',
        binaries.apiserver,
        [
          `--etcd-servers=${context.etcdUrl}`,
          `--etcd-prefix=/fedobs-${options.name}`,
          `--cert-dir=${certDir}`,
          `--token-auth-file=${credentials.tokens}`,
          `--service-account-key-file=${credentials.saPub}`,
          `--service-account-signing-key-file=${credentials.saKey}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          // The default reconciler publishes the advertise address as the kubernetes Service's
          // endpoint and rejects loopback; nothing here needs that endpoint.
          '--endpoint-reconciler-type=none',
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--authorization-mode=Node,RBAC',
          '--allow-privileged=true',
          // Nodes are reached at their InternalIP (127.0.0.1, where kwok listens): their Hostname
          // address, the default first choice, does not resolve.
          ...(options.kubeletApi ? ['--kubelet-preferred-address-types=InternalIP'] : []),
        ],
        log('kube-apiserver'),
      ),
    )
    await waitFor(
      async () => {
        mustRun()
        return (await probe(`${server}/readyz`, {token}))?.status === 200
      },
      {timeoutMs: context.timeoutMs, intervalMs: 200, what: `${options.name}: kube-apiserver /readyz`},
    )
    // The self-signed serving certificate file holds the leaf and its CA: trust both.
    const caPem = readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8')
    const caFile = path.join(dir, 'ca.crt')
    writeFileSync(caFile, caPem)
    const version = JSON.parse((await probe(`${server}/version`, {token, ca: caPem}))?.body ?? '{}').gitVersion ?? 'unknown'
    const contextName = options.lkeId === undefined ? options.name : `lke${options.lkeId}`
    const kubeconfig = kubeconfigYaml({name: contextName, server, caPem, token})
    const kubeconfigFile = path.join(dir, 'kubeconfig.yaml')
    writeFileSync(kubeconfigFile, kubeconfig, {mode: 0o600})

    if (options.kubeletApi) await installKwokForwardCrds(server, token, caPem, context.timeoutMs)

    const alwaysAllow = '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics'
    processes.push(
      startProcess(
        'kube-controller-manager',
        binaries.controllerManager,
        [
          `--kubeconfig=${kubeconfigFile}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          '--leader-elect=false',
          alwaysAllow,
          `--service-account-private-key-file=${credentials.saKey}`,
          `--root-ca-file=${caFile}`,
          '--use-service-account-credentials=true',
          // One service account and token per controller at the default 20 requests/s delays the
          // last controllers (the default ServiceAccount) by seconds.
          '--kube-api-qps=200',
          '--kube-api-burst=400',
          // kwok renews node leases; on two busy cores a late renewal must not flip nodes NotReady
          // (which would mark every pod unready in the middle of a test).
          '--node-monitor-grace-period=5m',
          `--cluster-name=${options.name}`,
        ],
        log('kube-controller-manager'),
      ),
      startProcess(
        'kube-scheduler',
        binaries.scheduler,
        [`--kubeconfig=${kubeconfigFile}`, '--bind-address=127.0.0.1', `--secure-port=${schedulerPort}`, '--leader-elect=false', alwaysAllow],
        log('kube-scheduler'),
      ),
      startProcess(
        'kwok',
        binaries.kwok,
        [
          `--kubeconfig=${kubeconfigFile}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          `--server-address=127.0.0.1:${kwokPort}`,
          // Pod IPs are data only, but keep them on loopback so nothing ever routes elsewhere.
          `--cidr=127.${index}.128.1/17`,
          `--node-ip=127.${index}.127.254`,
          // Heartbeats through Leases, as real kubelets do.
          '--node-lease-duration-seconds=40',
          // kwok writes this port as every node's kubelet port and serves port-forward on it (TLS with
          // a self-signed certificate, which the API server does not check without
          // --kubelet-certificate-authority), forwarding what the PortForward objects say.
          ...(options.kubeletApi ? [`--node-port=${kwokPort}`, `--enable-crds=${KWOK_FORWARD_KINDS.join(',')}`] : []),
        ],
        // kwok reads ~/.kwok/kwok.yaml when it exists: keep it hermetic.
        {...log('kwok'), env: {...process.env, HOME: dir}},
      ),
    )
    const defaultServiceAccount = `${server}/api/v1/namespaces/default/serviceaccounts/default`
    await waitFor(
      async () => {
        mustRun()
        const [account, scheduler, kwok] = await Promise.all([
          probe(defaultServiceAccount, {token, ca: caPem}),
          probe(`https://127.0.0.1:${schedulerPort}/healthz`),
          probe(`http://127.0.0.1:${kwokPort}/healthz`),
        ])
        return account?.status === 200 && scheduler?.status === 200 && kwok?.status === 200
      },
      {timeoutMs: context.timeoutMs, intervalMs: 200, what: `${options.name}: controller-manager (default ServiceAccount), scheduler and kwok`},
    )

    let clients: Clients | undefined
    let nextHost = 1
    const region = options.region ?? 'us-ord'
    return {
      name: options.name,
      lkeId: options.lkeId,
      server,
      kubeconfig,
      kubeconfigFile,
      dir,
      token,
      contextName,
      version,
      processes,
      clients: () => (clients ??= clientsFor(kubeconfig)),
      async addNode(spec) {
        const name = nodeName(contextName, spec.poolId, spec.suffix)
        const host = nextHost++
        const internalIP = options.kubeletApi ? '127.0.0.1' : `127.${index}.${Math.floor(host / 250)}.${(host % 250) + 1}`
        const body = lkeNode(spec, {name, internalIP, region: spec.region ?? region, kubeletVersion: version})
        if (options.podCidr) (body.spec ??= {}).podCIDR = options.podCidr(host - 1)
        const {core} = (clients ??= clientsFor(kubeconfig))
        const created = await core.createNode({body})
        // Status sent with a create is kept for nodes (the kubelet registers that way); make sure.
        if (!created.status?.capacity?.cpu) return core.replaceNodeStatus({name, body: {...created, status: body.status}})
        return created
      },
      async removeNode(name) {
        await ignoreStatus((clients ??= clientsFor(kubeconfig)).core.deleteNode({name}), 404)
      },
      rssMiB: () => processes.reduce((sum, p) => sum + p.rssMiB(), 0),
      isRunning: () => processes.every((p) => p.isRunning()),
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** kwok's port-forward configuration kinds (kwok.x-k8s.io/v1alpha1), served as CRDs with kubeletApi. */
export const KWOK_FORWARD_KINDS = ['PortForward', 'ClusterPortForward'] as const

/**
 * The CRDs kwok watches for port-forward rules: group kwok.x-k8s.io, version v1alpha1, the names
 * kwok's typed client uses (portforwards namespaced, clusterportforwards cluster-scoped). kwok
 * validates the content itself; the schema here only keeps every field.
 */
function kwokForwardCrds(): object[] {
  return KWOK_FORWARD_KINDS.map((kind) => {
    const plural = `${kind.toLowerCase()}s`
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {name: `${plural}.kwok.x-k8s.io`},
      spec: {
        group: 'kwok.x-k8s.io',
        names: {kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase()},
        scope: kind.startsWith('Cluster') ? 'Cluster' : 'Namespaced',
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: true,
            subresources: {status: {}},
            schema: {openAPIV3Schema: {type: 'object', 'x-kubernetes-preserve-unknown-fields': true}},
          },
        ],
      },
    }
  })
}

/**
 * Create kwok's forward CRDs and wait until the API server serves them (before kwok starts watching).
 * Sent as plain JSON: client-node's CRD model would drop `x-kubernetes-preserve-unknown-fields`
 * (its field has another name), and the API server would then prune every spec.
 */
async function installKwokForwardCrds(server: string, token: string, caPem: string, timeoutMs: number): Promise<void> {
  for (const crd of kwokForwardCrds()) {
    const status = await new Promise<number>((resolve, reject) => {
      const body = Buffer.from(JSON.stringify(crd))
      const req = request(
        `${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`,
        {method: 'POST', ca: caPem, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length}},
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
    if (status !== 201 && status !== 409) throw new Error(`creating kwok's forward CRDs: HTTP ${status}`)
  }
  await waitFor(
    async () => {
      const kinds = await probe(`${server}/apis/kwok.x-k8s.io/v1alpha1`, {token, ca: caPem})
      return kinds?.status === 200 && KWOK_FORWARD_KINDS.every((kind) => kinds.body.includes(`"kind":"${kind}"`))
    },
    {timeoutMs, intervalMs: 200, what: "kwok's PortForward CRDs served"},
  )
}
