import type {Output} from './output.js'

export type Report = (message: string) => void

export interface TaskSpec<T> {
  title: string
  run: (report: Report) => Promise<T>
}

export type TaskOutcome<T> = {title: string; ok: true; value: T} | {title: string; ok: false; error: unknown}

/** Rich progress only on an interactive terminal; plain lines in CI, pipes and TERM=dumb; nothing under --json. */
export function progressMode(output: Output, env: NodeJS.ProcessEnv = process.env): 'rich' | 'plain' | 'silent' {
  if (output.json) return 'silent'
  if (!process.stderr.isTTY || env.CI || env.TERM === 'dumb') return 'plain'
  return 'rich'
}

/**
 * Run tasks (concurrently or one by one) with progress on stderr. Every task runs to its end;
 * the outcomes say which failed, so one failing cluster does not hide the others.
 */
export async function runTasks<T>(output: Output, tasks: TaskSpec<T>[], options: {concurrent: boolean}): Promise<TaskOutcome<T>[]> {
  const mode = progressMode(output)
  if (mode === 'rich') return runRich(tasks, options)
  const run = async (task: TaskSpec<T>): Promise<TaskOutcome<T>> => {
    const report: Report = mode === 'plain' ? (message) => output.info(`${task.title}: ${message}`) : () => undefined
    try {
      return {title: task.title, ok: true, value: await task.run(report)}
    } catch (error) {
      return {title: task.title, ok: false, error}
    }
  }
  if (options.concurrent) return Promise.all(tasks.map(run))
  const outcomes: TaskOutcome<T>[] = []
  for (const task of tasks) outcomes.push(await run(task))
  return outcomes
}

async function runRich<T>(tasks: TaskSpec<T>[], options: {concurrent: boolean}): Promise<TaskOutcome<T>[]> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  const outcomes = new Map<string, TaskOutcome<T>>()
  const list = new Listr(
    tasks.map((spec) => ({
      title: spec.title,
      task: async (_context: unknown, task: {output: string; title: string}) => {
        try {
          outcomes.set(spec.title, {title: spec.title, ok: true, value: await spec.run((message) => (task.output = message))})
        } catch (error) {
          outcomes.set(spec.title, {title: spec.title, ok: false, error})
          throw error
        }
      },
    })),
    {
      concurrent: options.concurrent,
      exitOnError: false,
      // Ctrl-C belongs to the command (exit 130, say what exists); listr2's own handler exits 127.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: {
        collapseErrors: false,
        logger: new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)}),
      },
    },
  )
  try {
    await list.run()
  } catch {
    // outcomes hold each task's error
  }
  return tasks.map((t) => outcomes.get(t.title) ?? {title: t.title, ok: false, error: new Error('not run')})
}

/** One step of a multi-step run: its tasks are made when it starts, so they can use what earlier steps found. */
export interface PhaseSpec<T> {
  title: string
  tasks: () => TaskSpec<T>[]
  concurrent: boolean
}

export type PhaseOutcome<T> = {title: string; ran: true; outcomes: TaskOutcome<T>[]} | {title: string; ran: false}

/**
 * Steps one after another, each a group of tasks, as one progress tree (rich) or as plain lines
 * `step › task: message`. A step with a failed task ends the run: later steps are not started.
 */
export async function runPhases<T>(output: Output, phases: PhaseSpec<T>[], signal?: AbortSignal): Promise<PhaseOutcome<T>[]> {
  const mode = progressMode(output)
  if (mode === 'rich') return runPhasesRich(phases, signal)
  const results: PhaseOutcome<T>[] = []
  let stopped = false
  for (const phase of phases) {
    if (stopped || signal?.aborted) {
      results.push({title: phase.title, ran: false})
      continue
    }
    if (mode === 'plain') output.info(phase.title)
    const specs = phase.tasks()
    const labelled = specs.map((task) => ({...task, title: `${phase.title} › ${task.title}`}))
    const outcomes = (await runTasks(output, labelled, {concurrent: phase.concurrent})).map((o, i) => ({...o, title: specs[i]!.title}))
    results.push({title: phase.title, ran: true, outcomes})
    if (outcomes.some((o) => !o.ok)) stopped = true
  }
  return results
}

async function runPhasesRich<T>(phases: PhaseSpec<T>[], signal?: AbortSignal): Promise<PhaseOutcome<T>[]> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  const results = new Map<string, PhaseOutcome<T>>()
  let stopped = false
  const list = new Listr(
    phases.map((phase) => ({
      title: phase.title,
      skip: () => (stopped || signal?.aborted ? `${phase.title}: not started (an earlier step did not finish)` : false),
      task: (_context, parent) => {
        const specs = phase.tasks()
        const outcomes: TaskOutcome<T>[] = specs.map((s) => ({title: s.title, ok: false, error: new Error('not run')}))
        results.set(phase.title, {title: phase.title, ran: true, outcomes})
        return parent.newListr(
          specs.map((spec, i) => ({
            title: spec.title,
            task: async (_c, task) => {
              try {
                outcomes[i] = {title: spec.title, ok: true, value: await spec.run((message) => (task.output = message))}
              } catch (error) {
                outcomes[i] = {title: spec.title, ok: false, error}
                stopped = true
                throw error
              }
            },
          })),
          {concurrent: phase.concurrent, exitOnError: false, rendererOptions: {collapseSubtasks: false}},
        )
      },
    })),
    {
      concurrent: false,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: {
        collapseErrors: false,
        collapseSubtasks: false,
        logger: new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)}),
      },
    },
  )
  try {
    await list.run()
  } catch {
    // outcomes hold each task's error
  }
  return phases.map((p) => results.get(p.title) ?? {title: p.title, ran: false})
}
