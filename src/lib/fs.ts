import {mkdirSync, statSync} from 'node:fs'
import path from 'node:path'

/**
 * `mkdir -p`, one directory at a time from the nearest one that exists. Node's
 * `mkdirSync(p, {recursive: true})` spins forever (synchronously, so no signal ends it) on a path
 * in a pseudo file system such as /proc, where mkdir answers ENOENT under a parent that exists;
 * here that path fails with ENOENT like any other. Returns the directories it created, outermost first.
 */
export function mkdirs(directory: string, mode?: number): string[] {
  const missing: string[] = []
  let current = path.resolve(directory)
  // Errors name the directory asked for and the operation (mkdir), as `mkdir -p` would.
  const failed = (error: unknown): Error => Object.assign(error as NodeJS.ErrnoException, {path: directory, syscall: 'mkdir'})
  for (;;) {
    try {
      statSync(current)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw failed(error)
    }
    missing.unshift(current)
    const parent = path.dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, mode === undefined ? undefined : {mode})
    } catch (error) {
      // Someone else created it in the meantime: fine, as with `mkdir -p`.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw failed(error)
    }
  }
  return missing
}
