/** A Kubernetes object as fedobs renders it: plain data, apiVersion/kind/metadata and the rest. */
export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  [key: string]: unknown
}
