/**
 * The fake Linode API as a process, for a local sandbox:
 *   node --import tsx test/fake-linode/main.ts --port 8089 --token T --time-scale 1
 * Prints the URL (use it as LINODE_URL) on stdout; stops on SIGINT/SIGTERM.
 */
import {parseArgs} from 'node:util'
import {startFakeLinode} from '../../src/sandbox/linode/server.js'

const {values} = parseArgs({
  options: {
    port: {type: 'string', default: '0'},
    host: {type: 'string', default: '127.0.0.1'},
    token: {type: 'string'},
    'time-scale': {type: 'string', default: '1'},
    seed: {type: 'string', default: '1'},
  },
})

const number = (name: string, raw: string): number => {
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`--${name}: expected a non-negative number, got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  return value
}

const fake = await startFakeLinode({
  host: values.host,
  port: number('port', values.port),
  timeScale: number('time-scale', values['time-scale']) || 1,
  seed: number('seed', values.seed),
  ...(values.token ? {token: values.token} : {}),
})
process.stdout.write(`${fake.url}\n`)
if (!values.token) process.stderr.write(`no --token given; the fake accepts this one: ${fake.token}\n`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (fake.state.violations.length > 0) process.stderr.write(`spec violations:\n${fake.state.violations.join('\n')}\n`)
    void fake.close().then(() => process.exit(0))
  })
}
