// The node:http(s) Kube adapter (src/kube/http.ts) against a small stand-in API server: which
// kubeconfigs it serves (and which it leaves to client-node), the REST calls it makes, and how
// failures read. The test bed's CLI tests exercise it against real API servers over HTTPS.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {KubeApiError} from '../../src/kube/api.js'
import {connectKube} from '../../src/kube/client.js'
import {connectDirect} from '../../src/kube/http.js'

interface Seen {
  method: string
  url: string
  contentType?: string
  authorization?: string
  body: string
}

const TOKEN = 'unit-test-token'
const seen: Seen[] = []
let server: Server
let url: string
const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-kube-http-'))

const discovery: Record<string, unknown> = {
  '/api/v1': {
    resources: [
      {name: 'namespaces', kind: 'Namespace', namespaced: false},
      {name: 'configmaps', kind: 'ConfigMap', namespaced: true},
      {name: 'pods/log', kind: 'Pod', namespaced: true},
    ],
  },
  '/apis/networking.k8s.io/v1': {resources: [{name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true}]},
}

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    request.on('data', (c: Buffer) => chunks.push(c))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

beforeAll(async () => {
  server = createServer((request, response) => void handle(request, response))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as {port: number}).port}`
})

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const text = await body(request)
  seen.push({method: request.method!, url: request.url!, contentType: request.headers['content-type'], authorization: request.headers.authorization, body: text})
  const {pathname} = new URL(request.url!, 'http://x')
  const send = (status: number, document: unknown): void => {
    response.writeHead(status, {'content-type': 'application/json'})
    response.end(JSON.stringify(document))
  }
  if (request.headers.authorization !== `Bearer ${TOKEN}`) return send(401, {kind: 'Status', message: 'Unauthorized', reason: 'Unauthorized'})
  if (discovery[pathname]) return send(200, discovery[pathname])
  if (/^\/apis\/[^/]+\/[^/]+$/.test(pathname)) return send(404, {kind: 'Status', message: 'the server could not find the requested resource', reason: 'NotFound'})
  if (pathname === '/api/v1/namespaces/demo/configmaps' && request.method === 'GET') return send(200, {items: [{metadata: {name: 'a', namespace: 'demo'}}]})
  if (pathname === '/api/v1/namespaces/demo/configmaps/missing') return send(404, {kind: 'Status', message: 'configmaps "missing" not found', reason: 'NotFound'})
  if (pathname === '/api/v1/namespaces/demo/configmaps/taken') {
    return send(409, {kind: 'Status', message: 'Apply failed with 1 conflict', reason: 'Conflict', details: {causes: [{message: 'conflict with "kubectl"', field: '.data.x'}]}})
  }
  if (request.method === 'PATCH' || request.method === 'PUT' || request.method === 'POST') return send(200, JSON.parse(text))
  if (request.method === 'DELETE') return send(200, {kind: 'Status', status: 'Success'})
  return send(200, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: path.basename(pathname), resourceVersion: '7'}})
}

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {server: url}): string {
  const file = path.join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: 'c', cluster}],
      users: [{name: 'u', user}],
      contexts: [{name: 'ctx', context: {cluster: 'c', user: 'u'}}],
      'current-context': 'ctx',
    }),
  )
  return file
}

describe('which kubeconfigs the direct adapter serves', () => {
  it('serves a token, a token file and client certificates; leaves exec, auth-provider and proxy-url to client-node', () => {
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
    expect(connectDirect(kubeconfig('token', {token: TOKEN}), 'ctx')?.server).toBe(url)
    expect(connectDirect(kubeconfig('token-file', {tokenFile: 'token'}), 'ctx')?.context).toBe('ctx')
    expect(connectDirect(kubeconfig('exec', {exec: {command: 'aws', apiVersion: 'client.authentication.k8s.io/v1'}}), 'ctx')).toBeUndefined()
    expect(connectDirect(kubeconfig('provider', {'auth-provider': {name: 'oidc'}}), 'ctx')).toBeUndefined()
    expect(connectDirect(kubeconfig('proxy', {token: TOKEN}, {server: url, 'proxy-url': 'http://proxy:3128'}), 'ctx')).toBeUndefined()
  })

  it('leaves unknown contexts, unreadable files and missing credential files to client-node (which reports them)', async () => {
    expect(connectDirect(kubeconfig('ok', {token: TOKEN}), 'nosuch')).toBeUndefined()
    const broken = path.join(dir, 'broken.yaml')
    writeFileSync(broken, 'clusters: [\n')
    expect(connectDirect(broken, 'ctx')).toBeUndefined()
    expect(connectDirect(kubeconfig('no-cert-file', {'client-certificate': 'absent.crt', 'client-key': 'absent.key'}), 'ctx')).toBeUndefined()
    // connectKube then reports the problem as before.
    await expect(connectKube(broken, 'ctx')).rejects.toMatchObject({code: 'bad-kubeconfig'})
    await expect(connectKube(kubeconfig('ok2', {token: TOKEN}), 'nosuch')).rejects.toMatchObject({code: 'no-context'})
  })
})

describe('REST calls', () => {
  it('server-side applies the object as it is (a NetworkPolicy keeps its `from`), with the field manager, force and dry run', async () => {
    const kube = connectDirect(kubeconfig('apply', {token: TOKEN}), 'ctx')!
    seen.length = 0
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {name: 'allow', namespace: 'demo'},
      spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: 'x'}}}]}]},
    }
    await kube.apply(policy, {fieldManager: 'fedobs', force: true, dryRun: true})
    const patch = seen.find((s) => s.method === 'PATCH')!
    expect(patch.url).toBe('/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies/allow?fieldManager=fedobs&force=true&dryRun=All')
    expect(patch.contentType).toBe('application/apply-patch+yaml')
    expect(patch.authorization).toBe(`Bearer ${TOKEN}`)
    expect(JSON.parse(patch.body)).toEqual(policy)
    // Discovery is asked once per group version, however many calls follow.
    await kube.apply(policy, {fieldManager: 'fedobs'})
    expect(seen.filter((s) => s.url === '/apis/networking.k8s.io/v1')).toHaveLength(1)
    expect(seen.at(-1)!.url).toBe('/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies/allow?fieldManager=fedobs&force=false')
  })

  it('lists with the label selector and stamps apiVersion and kind on the items; cluster-scoped paths have no namespace', async () => {
    const kube = connectDirect(kubeconfig('list', {token: TOKEN}), 'ctx')!
    seen.length = 0
    const items = await kube.list({apiVersion: 'v1', kind: 'ConfigMap'}, {namespace: 'demo', labelSelector: 'a=b,c=d'})
    expect(items).toEqual([{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'a', namespace: 'demo'}}])
    expect(seen.at(-1)!.url).toBe('/api/v1/namespaces/demo/configmaps?labelSelector=a%3Db%2Cc%3Dd')
    expect((await kube.read({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'demo'}}))?.metadata?.resourceVersion).toBe('7')
    expect(seen.at(-1)!.url).toBe('/api/v1/namespaces/demo')
  })

  it('patches with the right content type, deletes in the foreground', async () => {
    const kube = connectDirect(kubeconfig('patch', {token: TOKEN}), 'ctx')!
    seen.length = 0
    const ref = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'p', namespace: 'demo'}}
    await kube.patch(ref, {metadata: {labels: {a: 'b'}}}, {type: 'merge', fieldManager: 'm'})
    expect(seen.at(-1)).toMatchObject({method: 'PATCH', url: '/api/v1/namespaces/demo/configmaps/p?fieldManager=m', contentType: 'application/merge-patch+json'})
    await kube.patch(ref, {data: {}}, {type: 'strategic', fieldManager: 'm'})
    expect(seen.at(-1)!.contentType).toBe('application/strategic-merge-patch+json')
    expect(await kube.delete(ref, {foreground: true})).toBe(true)
    expect(seen.at(-1)).toMatchObject({method: 'DELETE', url: '/api/v1/namespaces/demo/configmaps/p?propagationPolicy=Foreground'})
  })

  it('reads 404 as absent, a type the server does not serve as none, and keeps the Status of a failure', async () => {
    const kube = connectDirect(kubeconfig('errors', {token: TOKEN}), 'ctx')!
    expect(await kube.read({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'missing', namespace: 'demo'}})).toBeUndefined()
    expect(await kube.list({apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor'})).toEqual([])
    expect(await kube.list({apiVersion: 'v1', kind: 'Secret'})).toEqual([])
    const unserved = kube.apply({apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: {name: 's', namespace: 'demo'}}, {fieldManager: 'fedobs'})
    await expect(unserved).rejects.toBeInstanceOf(KubeApiError)
    await expect(unserved).rejects.toThrow(/does not serve ServiceMonitor/)
    const conflict = await kube.apply({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'taken', namespace: 'demo'}}, {fieldManager: 'fedobs'}).catch((error: unknown) => error)
    expect(conflict).toBeInstanceOf(KubeApiError)
    expect(conflict).toMatchObject({status: 409, reason: 'Conflict', causes: [{field: '.data.x'}]})
    expect((conflict as Error).message).toMatch(/^applying ConfigMap\/demo\/taken: Apply failed with 1 conflict/)
    const denied = connectDirect(kubeconfig('wrong-token', {token: 'wrong'}), 'ctx')!
    await expect(denied.list({apiVersion: 'v1', kind: 'ConfigMap'})).rejects.toMatchObject({status: 401})
  })

  it('names an unreachable server as such, and puts credentials on a service-proxy request', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const {port} = probe.address() as {port: number}
        probe.close(() => resolve(port))
      })
    })
    const kube = connectDirect(kubeconfig('down', {token: TOKEN}, {server: `http://127.0.0.1:${closed}`}), 'ctx')!
    await expect(kube.list({apiVersion: 'v1', kind: 'ConfigMap'})).rejects.toMatchObject({code: 'kube-unreachable'})
    const request: import('node:https').RequestOptions = {headers: {accept: 'x'}}
    await connectDirect(kubeconfig('authz', {token: TOKEN}, {server: url, 'insecure-skip-tls-verify': true}), 'ctx')!.authorize(request)
    expect(request).toMatchObject({rejectUnauthorized: false, headers: {accept: 'x', authorization: `Bearer ${TOKEN}`}})
  })
})
