/**
 * The dashboards fedobs provisions into Grafana's "Federated Observability" folder, by file name.
 * `npm run dashboards` writes each to dashboards/<file>; test/unit/dashboards-generated.test.ts
 * fails while a committed file differs from what these sources build.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import {bertInference} from './bert-inference.js'
import {federationOverview} from './federation-overview.js'
import {gpuHealth} from './gpu-health.js'
import {k8sResources} from './k8s-resources.js'

export const DASHBOARDS: Record<string, () => dashboard.Dashboard> = {
  'federation-overview.json': federationOverview,
  'bert-inference.json': bertInference,
  'gpu-health.json': gpuHealth,
  'k8s-resources.json': k8sResources,
}

/** The file text of one dashboard: 2-space JSON and a final newline. */
export function dashboardText(build: () => dashboard.Dashboard): string {
  return `${JSON.stringify(build(), null, 2)}\n`
}
