#!/usr/bin/env node
// The test command's runner: vitest's `main` project, and beside it (a second process) the
// `background` project, whose files mostly wait on real time (see vitest.config.ts). Arguments
// (files, -t, ...) go to both. Each writes its JUnit file under test-results/; the exit code is
// the first non-zero one.
import {spawn} from 'node:child_process'
import {createRequire} from 'node:module'
import path from 'node:path'

// vitest's CLI entry (its package "bin"), run with this Node.
const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs')
const args = process.argv.slice(2)
const run = (project, junit, extra = []) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, 'run', '--project', project, `--outputFile.junit=${junit}`, ...extra, ...args], {stdio: 'inherit'})
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })

const codes = await Promise.all([
  run('main', 'test-results/junit.xml'),
  // Filters given for other files leave this project empty: that is not a failure.
  run('background', 'test-results/junit-background.xml', ['--passWithNoTests']),
])
process.exit(codes.find((c) => c !== 0) ?? 0)
