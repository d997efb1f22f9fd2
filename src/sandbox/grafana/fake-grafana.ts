/**
 * A contract fake of Grafana's HTTP API (Grafana cannot be built here), fed exactly what the hub's
 * Grafana pod is fed: the dashboards of ConfigMap monitoring/grafana-dashboards (mounted at
 * /var/lib/grafana/dashboards), the provider of monitoring/grafana-dashboard-providers (its folder)
 * and the admin password of Secret monitoring/grafana-admin (GF_SECURITY_ADMIN_PASSWORD).
 *
 * What it answers, shaped as Grafana's HTTP API reference documents it:
 * - GET /api/health (no login): {database: "ok", version, commit}
 * - GET /api/search (basic auth admin:<password>): hits {id, uid, title, uri, url, slug, type:
 *   "dash-db"|"dash-folder", tags, isStarred, folderUid, folderTitle, folderUrl}; query, type, tag
 *   and dashboardUIDs filter
 * - GET /api/dashboards/uid/:uid (basic auth): {dashboard, meta: {type: "db", slug, url, folderUid,
 *   folderTitle, provisioned: true, provisionedExternalId, ...}}; 404 {message: "Dashboard not found"}
 * Anonymous access is off (GF_AUTH_ANONYMOUS_ENABLED=false): the rest answers 401 without a login.
 */
import {createHash, timingSafeEqual} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {parse} from 'yaml'
import type {Kube} from '../../kube/api.js'

export const FAKE_GRAFANA_VERSION = '12.0.0-fedobs-fake'

export interface GrafanaProvisioning {
  /** File name → dashboard JSON text (the grafana-dashboards ConfigMap's data). */
  dashboards: Record<string, string>
  /** providers.yaml of grafana-dashboard-providers: its first provider's folder holds the dashboards. */
  providersYaml?: string
  adminUser?: string
  adminPassword: string
}

interface Dashboard {
  id: number
  uid: string
  title: string
  slug: string
  tags: string[]
  file: string
  json: Record<string, unknown>
}

export interface FakeGrafana {
  readonly url: string
  readonly port: number
  /** Requests answered, by path (for tests: what went through the forward). */
  readonly requests: string[]
  close(): Promise<void>
}

/** The provisioning as the hub's Grafana pod sees it, read from the cluster (ConfigMaps and the Secret). */
export async function provisioningFromCluster(kube: Kube, namespace = 'monitoring'): Promise<GrafanaProvisioning> {
  const read = (kind: string, name: string) => kube.read({apiVersion: 'v1', kind, metadata: {name, namespace}})
  const [dashboards, providers, secret] = await Promise.all([read('ConfigMap', 'grafana-dashboards'), read('ConfigMap', 'grafana-dashboard-providers'), read('Secret', 'grafana-admin')])
  const password = secret?.data?.['admin-password']
  if (!dashboards?.data || password === undefined) throw new Error(`fake Grafana: ConfigMap ${namespace}/grafana-dashboards and Secret ${namespace}/grafana-admin (admin-password) must exist`)
  return {
    dashboards: dashboards.data,
    ...(providers?.data?.['providers.yaml'] ? {providersYaml: providers.data['providers.yaml']} : {}),
    adminPassword: Buffer.from(password, 'base64').toString('utf8'),
  }
}

function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/** Compare secrets in constant time (equal length first). */
function same(a: string, b: string): boolean {
  const [x, y] = [createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest()]
  return timingSafeEqual(x, y)
}

export async function startFakeGrafana(provisioning: GrafanaProvisioning, options: {host?: string; port?: number} = {}): Promise<FakeGrafana> {
  const folderTitle = ((parse(provisioning.providersYaml ?? '') as {providers?: Array<{folder?: string}>} | null)?.providers?.[0]?.folder ?? '') || 'General'
  const folderUid = slugify(folderTitle) || 'general'
  const dashboards: Dashboard[] = Object.entries(provisioning.dashboards)
    .filter(([file]) => file.endsWith('.json'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, text], index) => {
      const json = JSON.parse(text) as Record<string, unknown>
      const title = typeof json.title === 'string' ? json.title : file.replace(/\.json$/, '')
      // Grafana gives a provisioned dashboard without a uid one of its own; ours always carry theirs.
      const uid = typeof json.uid === 'string' && json.uid !== '' ? json.uid : slugify(title)
      return {id: index + 2, uid, title, slug: slugify(title), tags: Array.isArray(json.tags) ? (json.tags as string[]) : [], file, json}
    })
  const user = provisioning.adminUser ?? 'admin'
  const requests: string[] = []

  const send = (response: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store'})
    response.end(text)
  }
  const loggedIn = (request: IncomingMessage): 'ok' | 'none' | 'bad' => {
    const header = request.headers.authorization
    if (!header?.startsWith('Basic ')) return 'none'
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return 'bad'
    return same(decoded.slice(0, colon), user) && same(decoded.slice(colon + 1), provisioning.adminPassword) ? 'ok' : 'bad'
  }
  const hit = (d: Dashboard) => ({
    id: d.id,
    uid: d.uid,
    orgId: 1,
    title: d.title,
    uri: `db/${d.slug}`,
    url: `/d/${d.uid}/${d.slug}`,
    slug: '',
    type: 'dash-db',
    tags: d.tags,
    isStarred: false,
    folderId: 1,
    folderUid,
    folderTitle,
    folderUrl: `/dashboards/f/${folderUid}/`,
  })

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://grafana')
    requests.push(url.pathname)
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, {message: 'Method not allowed'})
    if (url.pathname === '/api/health') return send(response, 200, {commit: 'fedobs-fake', database: 'ok', version: FAKE_GRAFANA_VERSION})
    const login = loggedIn(request)
    if (login === 'none') return send(response, 401, {message: 'Unauthorized'})
    if (login === 'bad') return send(response, 401, {message: 'invalid username or password', messageId: 'password-auth.failed', statusCode: 401})
    if (url.pathname === '/api/search' || url.pathname === '/api/search/') {
      const query = (url.searchParams.get('query') ?? '').toLowerCase()
      const type = url.searchParams.get('type')
      const tags = url.searchParams.getAll('tag')
      const uids = url.searchParams.getAll('dashboardUIDs').flatMap((u) => u.split(','))
      const folder = {
        id: 1,
        uid: folderUid,
        orgId: 1,
        title: folderTitle,
        uri: `db/${folderUid}`,
        url: `/dashboards/f/${folderUid}/${folderUid}`,
        slug: '',
        type: 'dash-folder',
        tags: [],
        isStarred: false,
      }
      const found = [
        ...(type === null || type === 'dash-folder' ? (tags.length === 0 && uids.length === 0 && folderTitle.toLowerCase().includes(query) ? [folder] : []) : []),
        ...(type === null || type === 'dash-db'
          ? dashboards
              .filter((d) => d.title.toLowerCase().includes(query))
              .filter((d) => tags.every((t) => d.tags.includes(t)))
              .filter((d) => uids.length === 0 || uids.includes(d.uid))
              .map(hit)
          : []),
      ]
      return send(response, 200, found)
    }
    const byUid = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(url.pathname)
    if (byUid) {
      const dashboard = dashboards.find((d) => d.uid === decodeURIComponent(byUid[1]!))
      if (!dashboard) return send(response, 404, {message: 'Dashboard not found'})
      return send(response, 200, {
        dashboard: {...dashboard.json, id: dashboard.id, uid: dashboard.uid},
        meta: {
          type: 'db',
          canSave: false,
          canEdit: false,
          canAdmin: true,
          canStar: true,
          canDelete: false,
          slug: dashboard.slug,
          url: `/d/${dashboard.uid}/${dashboard.slug}`,
          expires: '0001-01-01T00:00:00Z',
          version: typeof dashboard.json.version === 'number' ? dashboard.json.version : 1,
          isFolder: false,
          folderId: 1,
          folderUid,
          folderTitle,
          folderUrl: `/dashboards/f/${folderUid}/`,
          provisioned: true,
          provisionedExternalId: dashboard.file,
        },
      })
    }
    return send(response, 404, {message: 'Not found'})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
