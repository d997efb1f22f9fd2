// What makes the built CLI start fast, and that none of it can break it: Node's module compile cache
// (bin/compile-cache.js) and the templates parsed at build time (dist/templates.json).
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseTemplateText, templateHash} from '../../src/render/template.js'
import {REPO, runCli} from '../helpers/cli.js'

const EXAMPLE = ['render', 'edge', 'fed-observability-remote', '-f', 'examples/fedobs.yaml', '--hub-endpoint', '203.0.113.7:4317']

function cacheEnv(home: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {HOME: home, XDG_CACHE_HOME: undefined, NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: undefined, ...more}
}

describe('compile cache', () => {
  it('is written under the user cache dir and a second run gives the same output', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
    const first = await runCli(EXAMPLE, {env: cacheEnv(home)})
    expect(first.code, first.stderr).toBe(0)
    const dir = path.join(home, '.cache', 'fedobs', 'compile-cache')
    expect(existsSync(dir)).toBe(true)
    const [versioned] = readdirSync(dir)
    expect(readdirSync(path.join(dir, versioned!)).length).toBeGreaterThan(10)
    const second = await runCli(EXAMPLE, {env: cacheEnv(home)})
    expect(second).toEqual(first)
  })

  it('honours XDG_CACHE_HOME and NODE_DISABLE_COMPILE_CACHE', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
    const xdg = path.join(home, 'xdg')
    expect((await runCli(['--help'], {env: cacheEnv(home, {XDG_CACHE_HOME: xdg})})).code).toBe(0)
    expect(existsSync(path.join(xdg, 'fedobs', 'compile-cache'))).toBe(true)
    const off = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
    expect((await runCli(['--help'], {env: cacheEnv(off, {NODE_DISABLE_COMPILE_CACHE: '1'})})).code).toBe(0)
    expect(existsSync(path.join(off, '.cache', 'fedobs'))).toBe(false)
  })

  it('never breaks the CLI when the cache cannot be created (not a directory, or a path that refuses mkdir)', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
    const reference = await runCli(EXAMPLE, {env: cacheEnv(home, {NODE_DISABLE_COMPILE_CACHE: '1'})})
    expect(reference.code, reference.stderr).toBe(0)
    const file = path.join(home, 'a-file')
    writeFileSync(file, '')
    // A cache base that is a file; and one under /proc, where Node's recursive mkdir would spin forever.
    for (const base of [file, ...(existsSync('/proc/1') ? ['/proc/1'] : [])]) {
      const result = await runCli(EXAMPLE, {env: cacheEnv(home, {XDG_CACHE_HOME: base})})
      expect(result, `XDG_CACHE_HOME=${base}`).toEqual(reference)
    }
  }, 60_000)
})

describe('templates parsed at build time', () => {
  it('dist/templates.json holds every template, exactly as the renderer parses its current text', () => {
    const {templates} = JSON.parse(readFileSync(path.join(REPO, 'dist', 'templates.json'), 'utf8')) as {templates: Record<string, unknown[]>}
    const files = readdirSync(path.join(REPO, 'templates'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    expect(files.length).toBeGreaterThan(10)
    for (const entry of files) {
      const text = readFileSync(path.join(entry.parentPath, entry.name), 'utf8')
      expect(templates[templateHash(text)], `${entry.name} (run npm run build)`).toEqual(parseTemplateText(text, entry.name))
    }
  })
})
