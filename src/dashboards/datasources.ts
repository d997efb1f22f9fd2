import {parse} from 'yaml'
import type {Federation} from '../federation/model.js'
import {renderHub} from '../render/render.js'
import type {Datasource} from './queries.js'

/**
 * The Grafana datasources fedobs provisions on the hub for this federation (uids, types and the
 * Prometheus scrape interval, jsonData.timeInterval = telemetry.scrapeInterval), read from the
 * rendered ConfigMap grafana-datasources: exactly what Grafana is given.
 */
export function provisionedDatasources(federation: Federation): Datasource[] {
  const configMap = renderHub(federation).objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'grafana-datasources') as {data?: Record<string, string>} | undefined
  const text = configMap?.data?.['datasources.yaml']
  if (!text) throw new Error('the hub rendering has no grafana-datasources ConfigMap with datasources.yaml')
  const doc = parse(text) as {datasources?: Datasource[]}
  return (doc.datasources ?? []).map((d) => ({uid: d.uid, type: d.type, isDefault: d.isDefault, jsonData: d.jsonData}))
}
