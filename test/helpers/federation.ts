import {parse} from 'yaml'
import {loadFederation} from '../../src/federation/load.js'
import type {Federation} from '../../src/federation/model.js'
import type {K8sObject} from '../../src/render/render.js'
import {REPO} from './cli.js'

export const EXAMPLE = `${REPO}examples/fedobs.yaml`

export function exampleFederation(): Federation {
  return loadFederation({file: EXAMPLE})
}

/** A federation built in code, bypassing validation (to test the renderer with any names). */
export function federationWith(overrides: Partial<Federation> = {}): Federation {
  const base = exampleFederation()
  return {...base, ...overrides}
}

export function find(objects: K8sObject[], kind: string, name: string, namespace?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace))
  if (!found) throw new Error(`no ${kind} ${namespace ? `${namespace}/` : ''}${name} in [${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}]`)
  return found
}

/** Parse a collector/Prometheus/Loki config held in a ConfigMap. */
export function configOf(objects: K8sObject[], name: string, key: string, namespace?: string): any {
  const configMap = find(objects, 'ConfigMap', name, namespace) as K8sObject & {data: Record<string, string>}
  return parse(configMap.data[key]!)
}

export interface Container {
  name: string
  image: string
  env?: Array<{name: string; value?: string; valueFrom?: any}>
  resources?: {requests?: Record<string, unknown>; limits?: Record<string, unknown>}
  securityContext?: Record<string, unknown>
  [key: string]: unknown
}

export function podSpec(object: K8sObject): any {
  return (object.spec as any)?.template?.spec
}

export function containers(object: K8sObject): Container[] {
  const spec = podSpec(object)
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : []
}
