import {assertWritableKubeconfig, contextAlias, contextExists} from '../kube/kubeconfig.js'
import type {Federation} from '../federation/model.js'
import {UsageError} from '../lib/errors.js'
import type {Output} from '../lib/output.js'
import {runTasks} from '../lib/progress.js'
import {executeDelete, planDelete, type ClusterContext, type DeletePlan, type DeleteResult} from '../services/clusters.js'
import {confirm, failTasks} from './cloud.js'
import {managedLabels, unknownClusterError} from './select.js'

export interface DeleteFlags {
  yes: boolean
  force: boolean
  'dry-run': boolean
  'ignore-not-found'?: boolean
  file?: string
  /** Names that are known to exist or to have existed (the federation file's): gone means "already gone". */
  known?: string[]
  /** The federation file's clusters, for suggestions. */
  fileFederation?: Federation
}

/** Nothing anywhere says this name ever was a cluster: not in the file, the cloud, the kubeconfig, or on a tagged volume. */
function nothingKnown(plan: DeletePlan, known: string[]): boolean {
  return !known.includes(plan.name) && !plan.cluster && plan.id === undefined && !plan.kubeconfigFile && plan.volumes.length === 0 && plan.nodeBalancers.length === 0
}

function describePlan(plan: DeletePlan): string[] {
  const lines: string[] = []
  if (plan.cluster) lines.push(`LKE cluster ${plan.name} (id ${plan.cluster.id}, ${plan.cluster.region}, ${plan.cluster.status})`)
  else lines.push(`LKE cluster ${plan.name}: already gone`)
  for (const s of plan.release.loadBalancers) lines.push(`  LoadBalancer service ${s.namespace}/${s.name}${s.ip ? ` (${s.ip})` : ''}`)
  for (const c of plan.release.claims) lines.push(`  volume claim ${c.namespace}/${c.name}`)
  if (plan.cluster && !plan.release.reachable) lines.push(`  (API server not reachable: ${plan.release.error ?? 'unknown'}; LoadBalancers and volumes are swept afterwards)`)
  for (const nb of plan.nodeBalancers) lines.push(`  NodeBalancer ${nb.label} (${nb.id})`)
  for (const v of plan.volumes) lines.push(`  volume ${v.label} (${v.id})${v.attached ? ', attached: deleted once detached' : ''}`)
  lines.push(`  kubeconfig entries of ${plan.name}${plan.kubeconfigFile ? ' and its per-cluster file' : ''}`)
  return lines
}

/** Plan, show, confirm (TTY) or require --yes, then delete every named cluster concurrently. */
export async function deleteClusters(ctx: ClusterContext, output: Output, names: string[], flags: DeleteFlags, interactive: boolean): Promise<void> {
  const planned = await Promise.all(names.map((name) => planDelete(ctx, name, {force: flags.force})))
  const unknown = planned.filter((plan) => nothingKnown(plan, flags.known ?? []))
  if (unknown.length > 0 && !flags['ignore-not-found']) {
    const error = unknownClusterError(unknown[0]!.name, {flags, ...(flags.fileFederation ? {federation: flags.fileFederation} : {}), cloudLabels: await managedLabels(ctx.api)})
    throw new UsageError(`${error.message}: nothing to delete`, {
      suggestions: error.suggestions,
      hint: `${error.hint ?? ''} Pass --ignore-not-found to treat a name that is not found as success.`.trim(),
      code: 'unknown-cluster',
    })
  }
  for (const plan of unknown) if (!output.json) output.info(`${plan.name}: no such cluster, nothing found to delete (--ignore-not-found)`)
  const plans = planned.filter((plan) => !unknown.includes(plan))
  if (plans.length === 0) {
    if (output.json) output.document({deleted: [], failed: [], notFound: unknown.map((p) => p.name)})
    return
  }
  if (flags['dry-run']) {
    if (output.json) output.document({dryRun: true, plans})
    else output.result(plans.flatMap(describePlan).join('\n'))
    return
  }
  // A read-only kubeconfig that holds entries to remove stops the delete before anything changes.
  if (plans.some((plan) => contextExists(ctx.kubeconfig, contextAlias(plan.name)))) assertWritableKubeconfig(ctx.kubeconfig)
  if (!output.json) output.info(plans.flatMap(describePlan).join('\n'))
  if (!flags.yes) {
    if (!interactive) {
      throw new UsageError('refusing to delete without confirmation: there is no terminal to ask on', {hint: 'Pass --yes to confirm (see --dry-run for what would be deleted).', code: 'needs-yes'})
    }
    if (!(await confirm(`Delete ${plans.length === 1 ? 'this' : `these ${plans.length} clusters`} and everything listed?`))) {
      throw new UsageError('cancelled: nothing was deleted', {code: 'declined'})
    }
  }
  const outcomes = await runTasks(
    output,
    plans.map((plan) => ({title: plan.name, run: (report) => executeDelete(ctx, plan, report)})),
    {concurrent: true},
  )
  const done = outcomes.filter((o) => o.ok).map((o) => (o as {value: DeleteResult}).value)
  const failed = outcomes.filter((o) => !o.ok) as Array<{title: string; error: unknown}>
  if (output.json) {
    output.document({deleted: done, failed: failed.map((f) => ({cluster: f.title, error: (f.error as Error).message})), ...(unknown.length > 0 ? {notFound: unknown.map((p) => p.name)} : {})})
  } else {
    for (const result of done) {
      output.success(
        `${result.name}: ${result.alreadyGone ? 'already gone' : 'deleted'}; ${result.nodeBalancers.length} NodeBalancer(s), ${result.volumes.length} volume(s) gone; ${result.removedKubeconfig.contexts.length} kubeconfig context(s) removed`,
      )
      for (const left of result.leftBehind) output.warn(`${result.name}: left behind: ${left} (run again to finish)`)
    }
  }
  failTasks(output, failed, plans.length)
}
