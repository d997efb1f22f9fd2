import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {table} from '../../lib/output.js'
import {DEFAULT_EXPORT_DIRECTORY, exportDashboards} from '../../services/dashboard-export.js'

export default class DashboardsExport extends BaseCommand<typeof DashboardsExport> {
  static override summary = 'Write the Grafana dashboards as JSON to import into your own Grafana.'
  static override description = `One file per dashboard, <uid>.json, in DIR (default ./${DEFAULT_EXPORT_DIRECTORY}; never the package's own dashboards/). The hub's fixed datasource UIDs become import inputs (\${DS_PROMETHEUS}, \${DS_LOKI}, \${DS_TEMPO}) declared in __inputs, with a __requires block and no numeric id, the way Grafana's "Export for sharing externally" writes them: in Grafana, Dashboards › New › Import, upload a file and pick your Prometheus, Loki and Tempo datasources.

Files that exist and differ are refused unless --force; identical files are left as they are, so re-running is safe. Nothing is written when a uid is unknown, DIR is unusable, or a file would be overwritten.`

  static override examples = [
    {description: 'Export every dashboard into ./fedobs-dashboards', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Only the overview, into a directory your Grafana provisions from', command: '<%= config.bin %> <%= command.id %> /srv/grafana/dashboards --uid federation-overview'},
    {description: 'Replace files exported by an older fedobs', command: '<%= config.bin %> <%= command.id %> --force'},
    {description: 'The written files, for a script', command: "<%= config.bin %> <%= command.id %> -o json | jq -r '.files[].path'"},
  ]

  static override args = {
    dir: Args.string({description: `Directory to write into (created if missing; default ./${DEFAULT_EXPORT_DIRECTORY}).`, required: false}),
  }

  static override flags = {
    uid: Flags.string({description: 'Export only this dashboard (repeatable).', multiple: true, helpValue: 'UID'}),
    force: Flags.boolean({description: 'Replace files in DIR that differ from the dashboards fedobs ships.'}),
  }

  async run(): Promise<void> {
    const result = exportDashboards({directory: this.args.dir ?? DEFAULT_EXPORT_DIRECTORY, uids: this.flags.uid ?? [], force: this.flags.force})
    if (this.output.json) {
      this.output.document(result)
      return
    }
    const written = result.files.filter((f) => f.status !== 'unchanged').length
    this.output.success(`${result.files.length} dashboard${result.files.length === 1 ? '' : 's'} in ${result.directory} (${written} written, ${result.files.length - written} unchanged)`)
    this.output.result(table([['UID', 'TITLE', 'STATUS', 'FILE'], ...result.files.map((f) => [f.uid, f.title, f.status, f.path])]))
    const labels = result.inputs.map((i) => i.label)
    const kinds = labels.length > 1 ? `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)!}` : (labels[0] ?? '')
    this.output.info(`Import: Grafana › Dashboards › New › Import, upload a file, then choose your ${kinds} datasource${labels.length === 1 ? '' : 's'}.`)
  }
}
