import {randomBytes} from 'node:crypto'
import {isKubeStatus, type Kube} from '../../kube/api.js'
import {LABELS, NAMESPACES} from '../../render/render.js'
import {SECRETS} from '../../render/security.js'

/**
 * The Grafana admin password lives in a Secret fedobs creates once, before Grafana starts (Grafana
 * requires it: it never starts with a default password), and never prints.
 */
export async function ensureGrafanaSecret(kube: Kube, dryRun: boolean): Promise<boolean> {
  const existing = await kube.read({apiVersion: 'v1', kind: 'Secret', metadata: {name: SECRETS.grafanaAdmin, namespace: NAMESPACES.monitoring}})
  if (existing || dryRun) return false
  try {
    await kube.create(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {name: SECRETS.grafanaAdmin, namespace: NAMESPACES.monitoring, labels: {[LABELS.name]: 'grafana', [LABELS.component]: 'dashboards', [LABELS.partOf]: 'fedobs'}},
        type: 'Opaque',
        stringData: {'admin-password': randomBytes(18).toString('base64url')},
      },
      'creating Secret monitoring/grafana-admin',
    )
  } catch (error) {
    if (isKubeStatus(error, 409)) return false
    throw error
  }
  return true
}
