/**
 * A local sandbox: the fake Linode API whose LKE clusters are real test-bed clusters.
 *   node --import tsx test/testbed/main.ts [--port 8089] [--token T] [--time-scale 0.05]
 * Prints LINODE_URL and LINODE_TOKEN exports on stdout (point the CLI at them, with the same
 * FEDOBS_TIME_SCALE); stops everything on SIGINT/SIGTERM.
 */
import {parseArgs} from 'node:util'
import {startLinodeTestbed} from '../../src/sandbox/testbed/bridge.js'

const {values} = parseArgs({
  options: {
    port: {type: 'string', default: '0'},
    token: {type: 'string'},
    'time-scale': {type: 'string', default: '1'},
    'keep-dir': {type: 'boolean', default: false},
  },
})

const port = Number(values.port)
const timeScale = Number(values['time-scale'])
if (!Number.isInteger(port) || port < 0 || !(timeScale > 0 && timeScale <= 1)) {
  process.stderr.write('usage: main.ts [--port N] [--token T] [--time-scale (0,1]] [--keep-dir]\n')
  process.exit(2)
}

const sandbox = await startLinodeTestbed({
  fake: {port, timeScale, ...(values.token ? {token: values.token} : {})},
  testbed: {keepDir: values['keep-dir']},
})
process.stdout.write(`export LINODE_URL=${sandbox.fake.url}\nexport LINODE_TOKEN=${sandbox.fake.token}\nexport FEDOBS_TIME_SCALE=${timeScale}\n`)
process.stderr.write(`test bed in ${sandbox.testbed.dir}; Ctrl-C stops it\n`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130) // a second Ctrl-C: the exit hook still kills every process
    stopping = true
    process.stderr.write('stopping the test bed\n')
    const problems = [...sandbox.fake.state.violations, ...sandbox.bridge.errors()]
    if (problems.length > 0) process.stderr.write(`${problems.join('\n')}\n`)
    void sandbox.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`)
        process.exit(1)
      },
    )
  })
}
