import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cloudPerTest, type Cloud} from '../helpers/cloud.js'
import {runCli} from '../helpers/cli.js'

const EXAMPLE = 'examples/fedobs.yaml'
const HUB = 'fed-observability-test'
const startCloud = cloudPerTest()
let cloud: Cloud

/** The first `fedobs ...` command a hint names, as argv. */
function hintedCommand(stderr: string): string[] | undefined {
  const hint = /hint: .*?`fedobs ([^`]+)`/.exec(stderr)?.[1]
  return hint?.split(/\s+/)
}

describe('cluster names resolve the same way on every cluster command', () => {
  it('"hub" and -f work on cluster kubeconfig and cluster delete, as on cluster create', async () => {
    cloud = await startCloud()
    expect((await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--no-wait'])).code).toBe(0)
    cloud.fake.advance(600)
    const kubeconfig = await cloud.run(['cluster', 'kubeconfig', 'hub', '-f', EXAMPLE, '--json'])
    expect(kubeconfig.code, kubeconfig.stderr).toBe(0)
    expect(JSON.parse(kubeconfig.stdout)).toMatchObject({cluster: HUB, context: `fedobs-${HUB}`})

    const deleted = await cloud.run(['cluster', 'delete', 'hub', '--file', EXAMPLE, '--yes', '--json'])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(JSON.parse(deleted.stdout).deleted[0]).toMatchObject({name: HUB, deleted: true})
    expect(cloud.fake.state.clusters.size).toBe(0)
  })

  it('./fedobs.yaml in the working directory is the file when -f is not given', async () => {
    cloud = await startCloud()
    const dir = path.join(cloud.home, 'project')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'fedobs.yaml'), 'apiVersion: fedobs/v1\nname: fed\nhub:\n  name: hub-one\n  region: us-ord\n  pools: [{type: g6-standard-4, count: 1}]\n')
    const created = await cloud.run(['cluster', 'create', 'hub', '--no-wait'], {cwd: dir})
    expect(created.code, created.stderr).toBe(0)
    const deleted = await cloud.run(['cluster', 'delete', 'hub', '--yes'], {cwd: dir})
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(cloud.fake.state.clusters.size).toBe(0)
  })

  it('a hint never loops: the command it suggests works, and then the original command works', async () => {
    cloud = await startCloud({manualClock: true})
    // Not created yet: kubeconfig says how to create it, naming the same file.
    const first = await cloud.run(['cluster', 'kubeconfig', 'hub', '-f', EXAMPLE])
    expect(first.code).toBe(2)
    expect(first.stderr).toContain(`hub ${HUB} of the federation has not been created`)
    const suggested = hintedCommand(first.stderr)
    expect(suggested).toEqual(['cluster', 'create', HUB, '-f', EXAMPLE])
    expect((await cloud.run([...suggested!, '--no-wait'])).code).toBe(0)
    cloud.fake.advance(600)
    const again = await cloud.run(['cluster', 'kubeconfig', 'hub', '-f', EXAMPLE])
    expect(again.code, again.stderr).toBe(0)
    expect(cloud.posts()).toBe(1)
  })

  it('"hub" without a federation file is a usage error that says how to name the file, not a lookup of a cluster labelled hub', async () => {
    cloud = await startCloud()
    const dir = path.join(cloud.home, 'empty')
    mkdirSync(dir)
    for (const argv of [
      ['cluster', 'kubeconfig', 'hub'],
      ['cluster', 'delete', 'hub', '--yes'],
    ]) {
      const result = await cloud.run(argv, {cwd: dir})
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('"hub" names the hub of a federation file')
      expect(result.stderr).toContain('-f FILE')
      expect(result.stderr).not.toContain('cluster create hub')
    }
    expect(cloud.fake.state.requests.filter((r) => r.path.includes('/lke/clusters'))).toEqual([])
  })

  it('a typo suggests names that resolve', async () => {
    cloud = await startCloud()
    expect((await cloud.run(['cluster', 'create', '--all', '-f', EXAMPLE, '--no-wait'])).code).toBe(0)
    const result = await cloud.run(['cluster', 'kubeconfig', 'fed-observability-remot', '-f', EXAMPLE])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean: fed-observability-remote')
    expect(result.stderr).toContain(`fedobs cluster list -f ${EXAMPLE}`)
  })
})

describe('an unknown cluster is exit 2 unless --ignore-not-found', () => {
  it('cluster delete nosuch --yes exits 2 and deletes nothing', async () => {
    cloud = await startCloud()
    expect((await cloud.run(['cluster', 'create', 'fed-observability-remote', '-f', EXAMPLE, '--no-wait'])).code).toBe(0)
    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remot', '--yes'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('no cluster named "fed-observability-remot"')
    expect(result.stderr).toContain('did you mean: fed-observability-remote')
    expect(result.stderr).toContain('--ignore-not-found')
    expect(cloud.fake.state.clusters.size).toBe(1)
    expect(cloud.fake.state.requests.filter((r) => r.method === 'DELETE')).toEqual([])
  })

  it('with --ignore-not-found it exits 0 and says nothing was found', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'delete', 'nosuch', '--yes', '--ignore-not-found'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('nosuch: no such cluster, nothing found to delete')
    const json = await cloud.run(['cluster', 'delete', 'nosuch', '--yes', '--ignore-not-found', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({deleted: [], failed: [], notFound: ['nosuch']})
  })

  it('a cluster of the federation file that is already gone is still success (teardown stays idempotent)', async () => {
    cloud = await startCloud()
    const result = await cloud.run(['cluster', 'delete', 'fed-observability-remote', '-f', EXAMPLE, '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).deleted[0]).toMatchObject({name: 'fed-observability-remote', alreadyGone: true})
  })
})

describe('commands that want an edge refuse the hub and point at the hub command', () => {
  it('deploy edge hub and connect <hub> hub: exit 2, the hint names a command for the hub', async () => {
    for (const argv of [
      ['deploy', 'edge', 'hub', '-f', EXAMPLE],
      ['deploy', 'edge', HUB, '-f', EXAMPLE],
      ['connect', 'hub', 'hub', '-f', EXAMPLE],
    ]) {
      const result = await runCli(argv, {env: {KUBECONFIG: '/nonexistent/kubeconfig'}})
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('is the hub (fed-observability-test), not an edge')
      expect(result.stderr).toContain(`\`fedobs deploy hub -f ${EXAMPLE}\``)
    }
  })

  it('connect with a wrong hub suggests "hub"', async () => {
    const result = await runCli(['connect', 'fed-observability-remote', 'hubb', '-f', EXAMPLE], {env: {KUBECONFIG: '/nonexistent/kubeconfig'}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean: hub')
    expect(result.stderr).toContain(`\`fedobs connect fed-observability-remote hub -f ${EXAMPLE}\``)
  })
})
