import {spawn, execFile, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync} from 'node:fs'
import {createServer, connect, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectKube} from '../../src/kube/client.js'
import {openPortForward} from '../../src/kube/portforward.js'
import type {Kube} from '../../src/kube/api.js'
import {startFakeGrafana, provisioningFromCluster, type FakeGrafana} from '../../src/sandbox/grafana/fake-grafana.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {startTestbed, TESTBED_BINARIES, type TestCluster, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {BIN, runCli, type CliResult} from '../helpers/cli.js'
import {fedobs, kubeconfigFor} from '../helpers/deploy.js'
import {expectDocument} from '../helpers/json-schemas.js'
import {requireBinaries} from '../helpers/testbed.js'

/**
 * `fedobs open grafana` on real parts: a real kube-apiserver whose node's kubelet API is kwok's
 * (the test bed's kubeletApi option), the hub deployed by `fedobs deploy hub`, kwok forwarding the
 * Grafana pods' port 3000 (a ClusterPortForward) to a Grafana contract fake fed from the rendered
 * ConfigMaps and the grafana-admin Secret. The CLI is the built one, run as a user runs it.
 */
const binaries = requireBinaries([...TESTBED_BINARIES, 'FEDOBS_KUBECTL'])
const CONTEXT = 'fedobs-hub'
const LABEL = 'app.kubernetes.io/name=grafana'

/** A long-running `fedobs open grafana`: its output so far, and its exit. */
interface Running {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  exit: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

function start(kubeconfig: string, cwd: string, args: string[]): Running {
  const child = spawn(process.execPath, [BIN, 'open', 'grafana', ...args], {
    cwd,
    env: {...process.env, KUBECONFIG: kubeconfig, CI: 'true', NO_COLOR: '1', FORCE_COLOR: undefined},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
  return {child, stdout: () => stdout, stderr: () => stderr, exit}
}

/** The JSON document once it is complete on stdout. */
async function documentOf(run: Running): Promise<any> {
  return waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode}: ${run.stderr()} ${run.stdout()}`)
      try {
        return run.stdout().trim() ? JSON.parse(run.stdout()) : undefined
      } catch {
        return undefined
      }
    },
    {timeoutMs: 30_000, intervalMs: 100, what: () => `open grafana's JSON document (stderr: ${run.stderr()})`},
  )
}

async function stop(run: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  if (run.child.exitCode === null) run.child.kill(signal)
  return run.exit
}

function basic(password: string): Record<string, string> {
  return {authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`}
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({host: '127.0.0.1', port})
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}

describe.skipIf(!binaries.ok)('fedobs open grafana through a real API server', () => {
  let testbed: Testbed
  let cluster: TestCluster
  let kubeconfig: string
  let kube: Kube
  let fake: FakeGrafana
  /** A directory without a fedobs.yaml: the federation is flags alone (hub "hub", context fedobs-hub). */
  let cwd: string
  let password: string
  /** Echoes every byte back: the far end of the raw stream test (pod port 9999). */
  let echo: Server
  const running: Running[] = []
  const run = (args: string[]): Running => {
    const r = start(kubeconfig, cwd, args)
    running.push(r)
    return r
  }
  /**
   * A run expected to end by itself (an error): not the fedobs() helper, whose --verbose re-run of a
   * failed command would start a forward that never ends once the cause is gone.
   */
  const once = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(['open', 'grafana', ...args], {cwd, env: {KUBECONFIG: kubeconfig, CI: 'true'}})
    expect(result.stdout + result.stderr).not.toContain(cluster.token)
    expect(result.stdout + result.stderr).not.toContain(password)
    return result
  }
  const grafanaPods = async () => (await kube.list({apiVersion: 'v1', kind: 'Pod'}, {namespace: 'monitoring', labelSelector: LABEL})).filter((p) => !p.metadata?.deletionTimestamp)
  const readyPod = async (): Promise<string> =>
    waitFor(
      async () => {
        const ready = (await grafanaPods()).find((p) => (p.status as any)?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
        return ready?.metadata?.name
      },
      {timeoutMs: 90_000, intervalMs: 500, what: 'a Ready grafana pod'},
    )

  beforeAll(async () => {
    testbed = await startTestbed()
    cluster = await testbed.addCluster({name: 'hub', kubeletApi: true})
    await cluster.addNode({plan: 'g6-standard-8', poolId: 1, instanceId: 101})
    kubeconfig = kubeconfigFor([{cluster, as: 'hub'}])
    cwd = mkdtempSync(path.join(tmpdir(), 'fedobs-open-'))
    const deployed = await fedobs(kubeconfig, ['deploy', 'hub', '--no-wait', '--json'], [cluster.token])
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0)
    kube = await connectKube(kubeconfig, CONTEXT)
    await readyPod()
    // Grafana as the pod would see it: the rendered dashboards, the provider's folder, the Secret's password.
    const provisioning = await provisioningFromCluster(kube)
    password = provisioning.adminPassword
    fake = await startFakeGrafana(provisioning)
    echo = createServer((socket) => socket.pipe(socket))
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()))
    // kwok forwards port 3000 of every pod in monitoring (whatever its name: restarts too) to the fake.
    await kube.create({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'ClusterPortForward',
      metadata: {name: 'grafana'},
      spec: {
        selector: {matchNamespaces: ['monitoring']},
        forwards: [
          {ports: [3000], target: {port: fake.port, address: '127.0.0.1'}},
          {ports: [9999], target: {port: (echo.address() as {port: number}).port, address: '127.0.0.1'}},
        ],
      },
    })
  }, 300_000)

  afterAll(async () => {
    await Promise.all(running.map((r) => stop(r, 'SIGKILL')))
    await fake?.close()
    echo?.close()
    await testbed?.stop()
  })

  it('forwards through the API server: health, a login with the printed command, every provisioned dashboard; SIGTERM ends it with exit 0', async () => {
    const open = run(['-o', 'json', '--port', '0'])
    const doc = expectDocument('open-grafana', JSON.stringify(await documentOf(open)))
    expect(doc.context).toBe(CONTEXT)
    expect(doc.url).toBe(`http://127.0.0.1:${doc.localPort}/`)
    expect(doc.pod).toBe(await readyPod())
    expect(doc.password).toBeUndefined()

    const health = await fetch(new URL('api/health', doc.url))
    expect(health.status).toBe(200)
    expect(((await health.json()) as {database: string}).database).toBe('ok')
    expect(fake.requests).toContain('/api/health')

    // The printed command, run as a user would (kubectl from the test bed, KUBECONFIG of the test).
    const {stdout: printed} = await promisify(execFile)('sh', ['-c', doc.passwordCommand], {
      env: {...process.env, KUBECONFIG: kubeconfig, PATH: `${path.dirname(binaries.ok ? binaries.paths.FEDOBS_KUBECTL! : '')}:${process.env.PATH}`},
    })
    expect(printed).toBe(password)
    expect((await fetch(new URL('api/search', doc.url))).status).toBe(401)
    expect((await fetch(new URL('api/search', doc.url), {headers: basic(`${printed}x`)})).status).toBe(401)

    const configMap = await kube.read({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'grafana-dashboards', namespace: 'monitoring'}})
    const provisioned = Object.values(configMap!.data!).map((text) => JSON.parse(text) as {uid: string; title: string})
    expect(provisioned.length).toBeGreaterThan(0)
    const hits = (await (await fetch(new URL('api/search?type=dash-db', doc.url), {headers: basic(printed)})).json()) as Array<{uid: string; folderTitle: string}>
    expect(hits.map((h) => h.uid).sort()).toEqual(provisioned.map((d) => d.uid).sort())
    expect(new Set(hits.map((h) => h.folderTitle))).toEqual(new Set(['Federated Observability']))
    for (const dashboard of provisioned) {
      const answer = await fetch(new URL(`api/dashboards/uid/${dashboard.uid}`, doc.url), {headers: basic(printed)})
      expect(answer.status, dashboard.uid).toBe(200)
      const body = (await answer.json()) as {dashboard: Record<string, unknown>; meta: {provisioned: boolean}}
      // The whole dashboard came back through the forward, byte for byte as provisioned.
      expect({...body.dashboard, id: undefined}).toEqual({...(dashboard as object), id: undefined})
      expect(body.meta.provisioned).toBe(true)
    }

    expect(open.stdout() + open.stderr()).not.toContain(password)
    const exit = await stop(open, 'SIGTERM')
    expect(exit.code, open.stderr()).toBe(0)
    expect(await refused(doc.localPort)).toBe(true)
  })

  it('the WebSocket stream carries 4 MiB each way intact (frames above 64 KiB, back-pressure)', async () => {
    const stream = await openPortForward(kube, {namespace: 'monitoring', pod: await readyPod(), port: 9999})
    const sent = randomBytes(4 * 1024 * 1024)
    const received: Buffer[] = []
    let length = 0
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        received.push(chunk)
        length += chunk.length
        if (length >= sent.length) resolve()
      })
      stream.on('error', reject)
    })
    // Chunks of 256 KiB: each one frame with a 64-bit length.
    for (let offset = 0; offset < sent.length; offset += 256 * 1024) {
      if (!stream.write(sent.subarray(offset, offset + 256 * 1024))) await new Promise((resolve) => stream.once('drain', resolve))
    }
    await done
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect(length).toBe(sent.length)
    expect(digest(Buffer.concat(received))).toBe(digest(sent))
    stream.destroy()
  })

  it("a port nothing forwards: the kubelet's error message ends the stream", async () => {
    const stream = await openPortForward(kube, {namespace: 'monitoring', pod: await readyPod(), port: 4444})
    const error = await new Promise<Error>((resolve) => {
      stream.on('error', resolve)
      stream.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'))
    })
    expect(error.message).toContain('4444')
  })

  it('prints the password only with --show-password; without it, only the command that reads it', async () => {
    const plain = run(['--port', '0', '--open'])
    await waitFor(() => plain.stderr().includes('Ctrl-C to stop'), {timeoutMs: 30_000, what: () => `the human output (${plain.stderr()})`})
    expect(plain.stdout()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\n$/)
    expect(plain.stderr()).toContain(`kubectl --context ${CONTEXT} -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d`)
    expect(plain.stdout() + plain.stderr()).not.toContain(password)
    // No terminal here: --open says so and starts no browser.
    expect(plain.stderr()).toContain('--open: no terminal here, so no browser is started')
    expect((await stop(plain, 'SIGINT')).code).toBe(0)

    const shown = run(['-o', 'json', '--port', '0', '--show-password'])
    const doc = expectDocument('open-grafana', JSON.stringify(await documentOf(shown)))
    expect(doc.password).toBe(password)
    const login = await fetch(new URL('api/search', doc.url), {headers: basic(doc.password)})
    expect(login.status).toBe(200)
    expect((await stop(shown)).code).toBe(0)
  })

  it('keeps forwarding when the Grafana pod is replaced: the next Ready pod is picked', async () => {
    const open = run(['--port', '0', '--verbose'])
    await waitFor(() => open.stderr().includes('Ctrl-C to stop'), {timeoutMs: 30_000, what: () => `the human output (${open.stderr()})`})
    const url = open.stdout().trim()
    const first = await readyPod()
    expect((await fetch(new URL('api/health', url))).status).toBe(200)

    await kube.delete({apiVersion: 'v1', kind: 'Pod', metadata: {name: first, namespace: 'monitoring'}})
    const second = await waitFor(
      async () => {
        const name = await readyPod()
        return name !== first ? name : undefined
      },
      {timeoutMs: 90_000, intervalMs: 500, what: 'the replacement grafana pod'},
    )
    // A connection right away works: the forward picks the new pod (on its check, or when the old one refuses).
    const health = await waitFor(
      async () => {
        const answer = await fetch(new URL('api/health', url)).catch(() => undefined)
        return answer?.status === 200 ? answer : undefined
      },
      {timeoutMs: 30_000, intervalMs: 500, what: () => `health through the forward after the restart (${open.stderr()})`},
    )
    expect(health.status).toBe(200)
    await waitFor(() => open.stderr().includes(`forwarding to ${second} now`), {timeoutMs: 15_000, what: () => `the note about ${second} (${open.stderr()})`})
    expect((await stop(open)).code).toBe(0)
  })

  it('a --port that is busy is a usage error (exit 2); the default port falls back to a free one with a note', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const busy = (blocker.address() as {port: number}).port
    const explicit = await once(['--port', String(busy), '-o', 'json'])
    expect(explicit.code).toBe(2)
    expect(JSON.parse(explicit.stdout).error.code).toBe('port-busy')
    blocker.close()

    // 3000 is held here (or by someone else on this machine): either way it is busy for the command.
    const hold: Server = createServer()
    const held = await new Promise<boolean>((resolve) => {
      hold.once('error', () => resolve(false))
      hold.listen(3000, '127.0.0.1', () => resolve(true))
    })
    try {
      const open = run([])
      await waitFor(() => open.stderr().includes('Ctrl-C to stop'), {timeoutMs: 30_000, what: () => `the human output (${open.stderr()})`})
      expect(open.stderr()).toMatch(/port 3000 on 127\.0\.0\.1 is in use: listening on port \d+ instead/)
      const url = open.stdout().trim()
      expect(url).not.toBe('http://127.0.0.1:3000/')
      expect((await fetch(new URL('api/health', url))).status).toBe(200)
      expect((await stop(open)).code).toBe(0)
    } finally {
      if (held) hold.close()
    }
  })

  it('no hub context: exit 2 naming the context', async () => {
    const result = await once(['--context', 'fedobs-nowhere', '-o', 'json'])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout).error.code).toBe('no-context')
  })

  it('no Ready Grafana pod: exit 1 naming the namespace and label, suggesting fedobs deploy hub', async () => {
    const scale = (replicas: number) =>
      kube.patch({apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'grafana', namespace: 'monitoring'}}, {spec: {replicas}}, {type: 'merge', fieldManager: 'test'})
    await scale(0)
    try {
      await waitFor(async () => (await kube.list({apiVersion: 'v1', kind: 'Pod'}, {namespace: 'monitoring', labelSelector: LABEL})).length === 0, {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: 'no grafana pods',
      })
      const none = await once(['-o', 'json'])
      expect(none.code).toBe(1)
      const error = JSON.parse(none.stdout).error
      expect(error.code).toBe('grafana-not-found')
      expect(error.message).toContain('namespace monitoring, label app.kubernetes.io/name=grafana')
      expect(error.hint).toContain('fedobs deploy hub')

      // A pod bound to a node nobody runs stays Pending: there, but not Ready.
      await kube.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name: 'grafana-pending', namespace: 'monitoring', labels: {'app.kubernetes.io/name': 'grafana'}},
        spec: {nodeName: 'no-such-node', containers: [{name: 'grafana', image: 'grafana/grafana'}]},
      })
      const pending = await once([])
      expect(pending.code).toBe(1)
      expect(pending.stderr).toContain('no Ready Grafana pod')
      expect(pending.stderr).toContain('grafana-pending (Pending)')
      expect(pending.stderr).toContain('fedobs deploy hub')
    } finally {
      await kube.delete({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'grafana-pending', namespace: 'monitoring'}})
      await scale(1)
    }
  })
})
