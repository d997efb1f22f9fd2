import {refOf, type Kube, type KubeObject} from '../../kube/api.js'
import {LABELS, NAMESPACES} from '../../render/render.js'

/**
 * An agent DaemonSet deployed by hand the seed's way (not by fedobs) lacks K8S_NODE_IP, so its
 * kubelet stats fail on LKE (node names do not resolve): patch it in, like the seed's fix.
 */
export async function patchSeedAgent(kube: Kube, dryRun: boolean): Promise<string[]> {
  const existing = await kube.read({apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'otel-agent', namespace: NAMESPACES.observability}})
  if (!existing || existing.metadata?.labels?.[LABELS.managedBy] === 'fedobs') return []
  const containers = (existing.spec as {template?: {spec?: {containers?: Array<{name: string; env?: Array<{name: string}>}>}}} | undefined)?.template?.spec?.containers ?? []
  const first = containers[0]
  if (!first || (first.env ?? []).some((e) => e.name === 'K8S_NODE_IP')) return []
  const env = {name: 'K8S_NODE_IP', valueFrom: {fieldRef: {fieldPath: 'status.hostIP'}}}
  if (!dryRun) {
    // A strategic merge patch adds the variable to the first container (containers and env merge by name).
    await kube.patch(
      refOf(existing as KubeObject & {apiVersion: string; kind: string}),
      {spec: {template: {spec: {containers: [{name: first.name, env: [env]}]}}}},
      {
        type: 'strategic',
        fieldManager: 'fedobs-seed-agent',
        what: 'patching K8S_NODE_IP into DaemonSet observability/otel-agent',
      },
    )
  }
  return [`DaemonSet ${NAMESPACES.observability}/otel-agent`]
}
