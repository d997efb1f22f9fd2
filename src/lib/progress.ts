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
