// Node's module compile cache for fedobs (bin/run.js imports this first): the V8 code of every
// module fedobs loads is kept between runs, so a run after the first compiles almost nothing.
// Where: $XDG_CACHE_HOME/fedobs/compile-cache, else the platform's user cache directory
// (~/.cache, ~/Library/Caches, %LOCALAPPDATA%). NODE_COMPILE_CACHE (Node's own variable) takes
// precedence; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
// Best effort, never fatal: a home that is read-only or not a directory means no cache. The
// directory is checked first because Node's recursive mkdir can spin forever on some paths that
// refuse it (e.g. under /proc), rather than fail.
import {accessSync, constants, existsSync, statSync} from 'node:fs'
import module from 'node:module'
import path from 'node:path'

function userCacheDir() {
  if (process.env.XDG_CACHE_HOME) return process.env.XDG_CACHE_HOME
  const home = process.env.HOME || process.env.USERPROFILE
  if (process.platform === 'win32') return process.env.LOCALAPPDATA || (home && path.join(home, 'AppData', 'Local'))
  if (!home) return undefined
  return process.platform === 'darwin' ? path.join(home, 'Library', 'Caches') : path.join(home, '.cache')
}

/** True when the directory exists and is writable, or its nearest existing ancestor is. */
function creatable(dir) {
  let existing = dir
  while (!existsSync(existing)) {
    const parent = path.dirname(existing)
    if (parent === existing) return false
    existing = parent
  }
  try {
    accessSync(existing, constants.W_OK)
    return statSync(existing).isDirectory()
  } catch {
    return false
  }
}

try {
  if (module.enableCompileCache && !process.env.NODE_DISABLE_COMPILE_CACHE && !process.env.NODE_COMPILE_CACHE) {
    const base = userCacheDir()
    const dir = base && path.resolve(base, 'fedobs', 'compile-cache')
    if (dir && creatable(dir)) module.enableCompileCache(dir)
  }
} catch {
  // no cache: slower, never broken
}
