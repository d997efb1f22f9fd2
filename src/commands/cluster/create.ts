import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterContext, cloudFlags, errorJson, failTasks, InterruptedCreateError, lookupClient} from '../../cli/cloud.js'
import {loadForClusters, shellWord} from '../../cli/select.js'
import {clusterCloudFlags, clusterShapeFlags, federationFlags, fileFlag} from '../../federation/flags.js'
import {assertWritableKubeconfig} from '../../kube/kubeconfig.js'
import {UsageError} from '../../lib/errors.js'
import {runTasks} from '../../lib/progress.js'
import {DURATION_HINT, parseDuration} from '../../lib/time.js'
import {checkAgainstApi, createCluster, interruptedState, planCreate, type CreatedCluster, type TrackedCluster} from '../../services/clusters.js'
import {describeDrift, manualSteps} from '../../services/drift.js'

export default class ClusterCreate extends BaseCommand<typeof ClusterCreate> {
  static override summary = 'Create LKE clusters, wait for them, and merge their kubeconfig.'
  static override description = `Idempotent: a cluster with the same label is found and reused, never duplicated (also when a create request failed after the API accepted it). Checks region, Kubernetes version and plan types against the Linode API before creating anything. Waits for the kubeconfig (minutes after create on LKE), writes it to a per-cluster file (0600) and merges it into your kubeconfig under a lock, with a backup, adding the context fedobs-<name> beside LKE's lke<ID>-ctx. Then waits until every pool's nodes are ready. Interrupt and re-run at any time: it picks up where it stopped.`

  static override examples = [
    {description: 'The hub of ./fedobs.yaml', command: '<%= config.bin %> <%= command.id %> hub'},
    {description: 'Every cluster of the federation, concurrently', command: '<%= config.bin %> <%= command.id %> --all'},
    {description: 'From flags alone', command: '<%= config.bin %> <%= command.id %> hub --region us-ord --pool g6-standard-4:3 --pool g2-gpu-rtx4000a1-s:1'},
    {description: 'Show the exact API payloads, create nothing', command: '<%= config.bin %> <%= command.id %> --all --dry-run --json'},
  ]

  static override args = {name: Args.string({description: 'Cluster name (or "hub").'})}

  static override flags = {
    ...fileFlag,
    all: Flags.boolean({description: 'Every cluster of the federation, concurrently.'}),
    ...clusterCloudFlags,
    pool: clusterShapeFlags.pool,
    ...cloudFlags,
    'set-context': Flags.boolean({description: 'Switch current-context to the new cluster.'}),
    wait: Flags.boolean({description: 'Wait for kubeconfig and ready nodes.', allowNo: true, default: true}),
    timeout: Flags.string({description: 'How long to wait, e.g. 20m.', default: '30m', helpValue: 'DURATION'}),
    'dry-run': Flags.boolean({description: 'Print the exact API payloads and create nothing.'}),
    'update-pools': Flags.boolean({
      description:
        'An existing cluster whose node pools differ from the file: resize pools, set their autoscaler, add missing pools and tags through the Linode API. Never deletes a pool, never upgrades Kubernetes (it says how).',
    }),
    federation: federationFlags.federation,
  }

  async run(): Promise<void> {
    const timeoutMs = parseDuration(this.flags.timeout)
    if (timeoutMs === undefined) throw new UsageError(`--timeout ${JSON.stringify(this.flags.timeout)} is not a duration`, {hint: DURATION_HINT})
    const {federation, clusters} = loadForClusters(this.flags, this.args.name, this.flags.all)
    if (this.flags['dry-run']) {
      const {requests, checked} = await planCreate(federation, clusters, async () => (await clusterContext(this.flags, this.output, this.abort.signal, this.clock)).api)
      if (!checked) this.output.warn('no Linode token: the payloads were not checked against the API')
      if (this.output.json) this.output.document({dryRun: true, requests})
      else for (const r of requests) this.output.result(`# ${r.cluster} (${r.role})\nPOST ${r.request.path}\n${JSON.stringify(r.request.body, null, 2)}`)
      return
    }

    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    // The kubeconfig is written after the clusters exist: a read-only one is refused before anything is created.
    if (this.flags.wait) assertWritableKubeconfig(ctx.kubeconfig)
    await checkAgainstApi(ctx.api, federation, clusters)
    const tracked = new Map<string, TrackedCluster>()
    const outcomes = await runTasks(
      this.output,
      clusters.map((cluster) => ({
        title: `${cluster.role} ${cluster.name}`,
        run: (report) =>
          createCluster(ctx, federation, cluster, {
            wait: this.flags.wait,
            timeoutMs,
            setContext: this.flags['set-context'] && clusters.length === 1,
            report,
            track: (event) => tracked.set(event.name, event),
            updatePools: this.flags['update-pools'],
          }),
      })),
      {concurrent: true},
    )
    if (this.abort.signal.aborted) {
      const now = await interruptedState(
        await lookupClient(this.flags, this.clock),
        clusters.map((c) => c.name),
        tracked,
      )
      throw new InterruptedCreateError(now, [this.config.bin, ...this.id!.split(':'), ...this.argv].map(shellWord).join(' '))
    }
    const created = outcomes.filter((o) => o.ok).map((o) => (o as {value: CreatedCluster}).value)
    const failed = outcomes.filter((o) => !o.ok) as Array<{title: string; error: unknown}>
    if (this.output.json) {
      this.output.document({
        clusters: created.map((c) => ({
          name: c.name,
          id: c.id,
          reused: c.reused,
          status: c.status,
          region: c.region,
          pools: c.pools,
          ...(c.drift
            ? {
                drift: {
                  differences: describeDrift(c.drift),
                  pools: c.drift.pools,
                  ...(c.drift.version ? {version: c.drift.version} : {}),
                  missingTags: c.drift.missingTags,
                  manual: manualSteps(c.drift),
                },
              }
            : {}),
          ...(c.applied ? {applied: c.applied} : {}),
          ...(c.kubeconfig ? {context: c.kubeconfig.alias, lkeContext: c.kubeconfig.context, kubeconfigFile: c.kubeconfig.file} : {}),
        })),
        failed: failed.map((f) => ({cluster: f.title, error: errorJson(f.error)})),
        apiCalls: ctx.api.calls.count,
      })
    } else {
      const fix = [this.config.bin, ...this.id!.split(':'), ...this.argv, '--update-pools'].map(shellWord).join(' ')
      for (const c of created) {
        if (c.drift) {
          const lines = describeDrift(c.drift).map((line) => `  ${line}`)
          const manual = manualSteps(c.drift).map((line) => `  ${line}`)
          if (c.applied) {
            this.output.info(`${c.name}: brought in line with the file (--update-pools):\n${lines.join('\n')}`)
          } else {
            const fixable = c.drift.pools.some((p) => p.kind !== 'extra') || c.drift.missingTags.length > 0
            this.output.warn(`${c.name} exists and differs from the file:\n${lines.join('\n')}${fixable ? `\n  to apply the pool and tag changes: ${fix}` : ''}`)
          }
          if (manual.length > 0) this.output.warn(`${c.name}: left to you:\n${manual.join('\n')}`)
        }
        const how = c.reused ? 'exists' : 'created'
        this.output.success(`${c.name}: ${how} (id ${c.id})${c.kubeconfig ? `, context ${c.kubeconfig.alias}` : ''}${c.waited ? ', all nodes ready' : ''}`)
        this.output.result(`${c.name}\t${c.id}\t${c.kubeconfig?.alias ?? ''}`)
      }
    }
    failTasks(this.output, failed, clusters.length)
  }
}
