/**
 * For clusters.test.ts: start a test bed with one cluster, print its process ids and directory as
 * one JSON line, then wait to be killed (the test SIGKILLs this process and expects no orphans).
 */
import {startTestbed} from '../../src/sandbox/testbed/testbed.js'

const testbed = await startTestbed()
await testbed.addCluster({name: 'orphan-check'})
process.stdout.write(`${JSON.stringify({pids: testbed.pids(), dir: testbed.dir})}\n`)
setInterval(() => undefined, 60_000)
