import {table, type Output, type OutputFormat} from '../lib/output.js'
import type {Rendering} from '../render/render.js'
import {toJsonList, toYamlStream, writeKustomizeDirectory} from '../render/write.js'

/**
 * Print or write a rendering: a kustomize directory with --out-dir, else on stdout a YAML stream
 * (the default, and -o yaml), a Kubernetes List (-o json), or a table of the objects (-o table).
 */
export function emitRendering(output: Output, rendering: Rendering, outputDirectory: string | undefined, format?: OutputFormat): void {
  const {cluster} = rendering
  if (cluster.role === 'edge' && !rendering.hubEndpoint) {
    output.warn(
      `edge ${cluster.name} is rendered unconnected: its collectors log and drop telemetry until it is connected ` +
        `(\`fedobs connect ${cluster.name} hub\`, --hub-endpoint, or telemetry.gateway.endpoint).`,
    )
  }
  for (const warning of rendering.warnings) output.warn(warning)
  if (rendering.secrets.length > 0) {
    const creators = [...new Set(rendering.secrets.map((s) => `\`${s.createdBy}\``))]
    output.info(
      `note: these workloads mount Secrets that hold keys and are never rendered: ${rendering.secrets.map((s) => `${s.namespace}/${s.name}`).join(', ')}; ` +
        `${creators.join(' and ')} create${creators.length === 1 ? 's' : ''} them (with kubectl apply, run that once too).`,
    )
  }
  if (outputDirectory) {
    const written = writeKustomizeDirectory(outputDirectory, rendering)
    if (output.json) {
      output.document({
        cluster: cluster.name,
        role: cluster.role,
        directory: written.directory,
        files: written.files,
        removed: written.removed,
        objects: rendering.objects.length,
      })
    } else {
      output.success(`${cluster.role} ${cluster.name}: ${rendering.objects.length} objects in ${written.files.length} files`)
      for (const name of written.removed) output.info(`  removed ${name} (no longer rendered)`)
      output.result(written.directory)
    }
    return
  }
  if (format === 'json') output.document(toJsonList(rendering.objects))
  else if (format === 'table') {
    output.result(table([['KIND', 'NAMESPACE', 'NAME'], ...rendering.objects.map((o) => [o.kind, o.metadata.namespace ?? '-', o.metadata.name])]))
  } else output.result(toYamlStream(rendering.objects))
}
