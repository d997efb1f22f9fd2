import {isGpuPlan} from '../../federation/model.js'
import type {Kube} from '../../kube/api.js'

export const GPU_LABEL = 'nvidia.com/gpu.present'

/** LKE does not label GPU nodes; the NVIDIA stack and the inference demo select on this label. */
export async function labelGpuNodes(kube: Kube, dryRun: boolean): Promise<string[]> {
  const nodes = await kube.list({apiVersion: 'v1', kind: 'Node'}, {what: 'listing nodes'})
  const labelled: string[] = []
  for (const node of nodes) {
    const capacity = Number((node.status as {capacity?: Record<string, string>} | undefined)?.capacity?.['nvidia.com/gpu'] ?? 0)
    const plan = node.metadata?.labels?.['node.kubernetes.io/instance-type'] ?? ''
    if (!(capacity > 0 || isGpuPlan(plan)) || node.metadata?.labels?.[GPU_LABEL] === 'true') continue
    if (!dryRun) {
      await kube.patch(
        {apiVersion: 'v1', kind: 'Node', metadata: {name: node.metadata!.name!}},
        {metadata: {labels: {[GPU_LABEL]: 'true'}}},
        {type: 'merge', fieldManager: 'fedobs-gpu-labeler', what: `labelling node ${node.metadata?.name}`},
      )
    }
    labelled.push(node.metadata!.name!)
  }
  return labelled
}
