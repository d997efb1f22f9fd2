import {chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cloudPerTest} from '../helpers/cloud.js'

const EXAMPLE = 'examples/fedobs.yaml'
const startCloud = cloudPerTest()

describe('a read-only kubeconfig is never silently replaced', () => {
  it('cluster create refuses before creating anything: exit 2, the path, chmod u+w or --kubeconfig; the file is unchanged', async () => {
    const cloud = await startCloud()
    mkdirSync(path.dirname(cloud.kubeconfig), {recursive: true})
    const before = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n'
    writeFileSync(cloud.kubeconfig, before)
    chmodSync(cloud.kubeconfig, 0o444)
    const result = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`the kubeconfig ${cloud.kubeconfig} is read-only (mode 0444)`)
    expect(result.stderr).toContain(`chmod u+w ${cloud.kubeconfig}`)
    expect(result.stderr).toContain('--kubeconfig FILE')
    expect(cloud.posts()).toBe(0)
    expect(readFileSync(cloud.kubeconfig, 'utf8')).toBe(before)
    expect(readdirSync(path.dirname(cloud.kubeconfig))).toEqual(['config'])

    // The fix it names works: another file with --kubeconfig.
    const elsewhere = path.join(cloud.home, 'other-kubeconfig')
    const created = await cloud.run(['cluster', 'create', 'hub', '-f', EXAMPLE, '--kubeconfig', elsewhere])
    expect(created.code, created.stderr).toBe(0)
    expect(readFileSync(elsewhere, 'utf8')).toContain('fedobs-fed-observability-test')
    expect(readFileSync(cloud.kubeconfig, 'utf8')).toBe(before)
  })
})
