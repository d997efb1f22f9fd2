import {describe, expect, it} from 'vitest'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'

const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const EDGE = 'fed-observability-remote'
const startCloud = cloudPerTest()

/** Wait (real time, generous for a loaded machine) until the fake has seen something. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function idOf(cloud: Cloud, label: string): number {
  return [...cloud.fake.state.clusters.values()].find((c) => c.label === label)!.id
}

describe('an interrupted cluster create says what exists and how to resume', () => {
  it('SIGINT: each cluster with id, label, status and "created by this run", the exact resume command, exit 130; the resume makes no duplicate', async () => {
    // A manual clock: nothing becomes ready until the test moves it, so the CLI is still waiting when the signal lands.
    const cloud = await startCloud({manualClock: true})
    const argv = ['cluster', 'create', '--all', '-f', EXAMPLE, '--timeout', '2h']
    const {child, done} = cloud.spawn(argv)
    await waitUntil(() => cloud.posts() === 2, 'both create requests')
    // Both answered: the CLI is polling for the kubeconfigs now.
    await waitUntil(() => cloud.fake.state.requests.filter((r) => r.path.endsWith('/kubeconfig')).length >= 2, 'the kubeconfig polls')
    child.kill('SIGINT')
    const interrupted = await done
    expect(interrupted.code).toBe(130)
    for (const label of [HUB, EDGE]) {
      expect(interrupted.stderr).toMatch(new RegExp(`${label}\\s+id ${idOf(cloud, label)}\\s+not_ready\\s+created by this run`))
    }
    expect(interrupted.stderr).toContain(`fedobs ${argv.join(' ')}\n`)

    cloud.fake.advance(600)
    const resumed = await cloud.run([...argv, '--json'])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout).clusters.map((c: {reused: boolean}) => c.reused)).toEqual([true, true])
    expect(cloud.posts()).toBe(2)
    expect(cloud.fake.state.clusters.size).toBe(2)
  })

  it('SIGTERM on a slow (real-time) cloud: a cluster that existed before is told apart from one this run created; --json carries the same', async () => {
    const cloud = await startCloud({timeScale: 1})
    // The hub exists from an earlier run; this run creates the edge.
    const earlier = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--no-wait'])
    expect(earlier.code, earlier.stderr).toBe(0)
    const {child, done} = cloud.spawn(['cluster', 'create', '--all', '-f', EXAMPLE, '--json'])
    await waitUntil(() => cloud.posts() === 2, 'the edge create request')
    await waitUntil(() => cloud.fake.state.requests.filter((r) => r.path.endsWith('/kubeconfig')).length >= 2, 'the kubeconfig polls')
    child.kill('SIGTERM')
    const interrupted = await done
    expect(interrupted.code).toBe(130)
    const {error} = JSON.parse(interrupted.stdout)
    expect(error.code).toBe('cancelled')
    expect(error.resume).toBe(`fedobs cluster create --all -f ${EXAMPLE} --json`)
    expect(error.clusters).toEqual([
      {name: HUB, exists: true, id: idOf(cloud, HUB), status: 'not_ready', createdByThisRun: false},
      {name: EDGE, exists: true, id: idOf(cloud, EDGE), status: 'not_ready', createdByThisRun: true},
    ])
    expect(cloud.fake.state.clusters.size).toBe(2)
  })
})
