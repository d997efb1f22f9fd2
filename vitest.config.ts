import {defineConfig} from 'vitest/config'

/**
 * Two projects. `background` holds the files that mostly wait on real time (the edge queue's
 * 10-minute outage): `npm test` (scripts/test.mjs) runs it in a second vitest process beside
 * `main`, so its wait overlaps the rest of the suite instead of adding to it. vitest alone
 * (`npx vitest run FILE`) runs both projects as usual.
 */
const BACKGROUND = ['test/telemetry/edge-queue.test.ts']

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    disableConsoleIntercept: true,
    pool: 'forks',
    reporters: ['default', 'junit'],
    outputFile: {junit: 'test-results/junit.xml'},
    projects: [
      {extends: true, test: {name: 'main', include: ['test/**/*.test.ts'], exclude: BACKGROUND}},
      {extends: true, test: {name: 'background', include: BACKGROUND}},
    ],
  },
})
