/** Defaults of the federation file, in one place: the schema documents them, the resolver applies them. */
export const DEFAULTS = {
  apiVersion: 'fedobs/v1',
  k8sVersion: '1.33',
  telemetry: {
    retention: '15d',
    scrapeInterval: '30s',
    storageClass: 'fedobs-block-storage',
    storage: {prometheus: '50Gi', loki: '20Gi', tempo: '20Gi', gatewayQueue: '10Gi', agentQueue: '1Gi'},
    queue: {size: 5000},
    gateway: {
      replicas: 2,
      autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 6, targetCPUUtilization: 70},
      allowedSources: [] as string[],
    },
    outOfOrderWindow: '2d',
  },
  inference: {enabled: false, replicas: 1, gpusPerReplica: 1},
  security: {
    mtls: true,
    certificates: {validity: '90d', renewBefore: '30d'},
    pii: {enabled: true},
  },
} as const

export const API_VERSIONS = ['fedobs/v1'] as const
