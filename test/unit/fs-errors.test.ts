import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {mergeKubeconfig, removeClusterEntries} from '../../src/kube/kubeconfig.js'
import {ExitCode, FedobsError, fsError, isFsError, onFs} from '../../src/lib/errors.js'
import {normalizeError} from '../../src/base-command.js'
import {mkdirs} from '../../src/lib/fs.js'
import {runCli} from '../helpers/cli.js'

const LKE = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: lke7, cluster: {server: "https://192.0.2.7:443"}}]',
  'users: [{name: lke7-admin, user: {token: t}}]',
  'contexts: [{name: lke7-ctx, context: {cluster: lke7, user: lke7-admin}}]',
  'current-context: lke7-ctx',
  '',
].join('\n')

function temp(): string {
  return mkdtempSync(path.join(tmpdir(), 'fedobs-fs-'))
}

function errno(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw, ${syscall} '${file}'`), {code, syscall, path: file, errno: -1})
}

describe('one mapping of file-system errors', () => {
  it.each([
    ['EACCES', 'open', ExitCode.Usage, /permission denied/, /chmod u\+w \/x\/config/],
    ['EROFS', 'rename', ExitCode.Usage, /read-only/, /writable file system/],
    ['ENOSPC', 'write', ExitCode.Failure, /no space left/, /Free some space/],
    ['ENOTDIR', 'mkdir', ExitCode.Usage, /not a directory/, /must be a directory/],
    ['EISDIR', 'open', ExitCode.Usage, /is a directory/, /Name a file/],
    ['EEXIST', 'link', ExitCode.Usage, /already exists/, /Remove or rename \/x\/config/],
  ])('%s names the path, the operation and what to do', (code, syscall, exitCode, problem, fix) => {
    const mapped = fsError(errno(code, syscall, '/x/config'), {operation: 'write', what: 'kubeconfig', elsewhere: '--kubeconfig FILE'})
    expect(mapped).toBeInstanceOf(FedobsError)
    expect(mapped.exitCode).toBe(exitCode)
    expect(mapped.message).toMatch(/^cannot write the kubeconfig \/x\/config: /)
    expect(mapped.message).toMatch(problem)
    expect(mapped.message).not.toContain('raw')
    expect(mapped.hint).toMatch(fix)
    expect(mapped.code).toBe(`fs-${code.toLowerCase()}`)
  })

  it('a raw error that reaches the base command is mapped too, with the syscall as the operation', () => {
    const mapped = normalizeError(errno('EACCES', 'mkdir', '/srv/out'))
    expect(mapped.message).toBe('cannot create the directory /srv/out: permission denied (EACCES)')
    expect(mapped.exitCode).toBe(ExitCode.Usage)
    expect(isFsError(new Error('plain'))).toBe(false)
  })

  it('onFs passes results and other errors through unchanged', () => {
    expect(onFs({operation: 'read'}, () => 42)).toBe(42)
    const other = new TypeError('not fs')
    expect(() =>
      onFs({operation: 'read'}, () => {
        throw other
      }),
    ).toThrow(other)
  })
})

describe('kubeconfig writes', () => {
  it('a read-only (0444) kubeconfig is refused, naming the path and the fix; nothing changes, no backup, no lock left', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    const before = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n'
    writeFileSync(target, before)
    chmodSync(target, 0o444)
    const error = await mergeKubeconfig(target, LKE, {cluster: 'edge-1'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FedobsError)
    expect((error as FedobsError).exitCode).toBe(ExitCode.Usage)
    expect((error as FedobsError).message).toContain(`the kubeconfig ${target} is read-only (mode 0444)`)
    expect((error as FedobsError).hint).toContain(`chmod u+w ${target}`)
    expect((error as FedobsError).hint).toContain('--kubeconfig FILE')
    expect(readFileSync(target, 'utf8')).toBe(before)
    expect(readdirSync(dir)).toEqual(['config'])
    await expect(removeClusterEntries(target, 'edge-1')).rejects.toThrow('is read-only')
  })

  it('a kubeconfig path under a regular file is ENOTDIR, mapped', async () => {
    const dir = temp()
    writeFileSync(path.join(dir, 'file'), 'x')
    const error = (await mergeKubeconfig(path.join(dir, 'file', 'config'), LKE, {cluster: 'edge-1'}).catch((e: unknown) => e)) as FedobsError
    expect(error).toBeInstanceOf(FedobsError)
    expect(error.message).toContain(path.join(dir, 'file'))
    expect(error.message).toContain('not a directory (ENOTDIR)')
    expect(error.message).not.toMatch(/^ENOTDIR/)
  })

  it('a kubeconfig path that is a directory is EISDIR, mapped, and nothing is created beside it', async () => {
    const dir = temp()
    const target = path.join(dir, 'config')
    mkdirSync(target)
    const error = (await mergeKubeconfig(target, LKE, {cluster: 'edge-1'}).catch((e: unknown) => e)) as FedobsError
    expect(error.message).toBe(`cannot write the kubeconfig ${target}: it is a directory, where a file is needed (EISDIR)`)
    expect(readdirSync(dir)).toEqual(['config'])
  })
})

describe('render output directory', () => {
  it('a directory under a regular file: exit 2, the path and what to do, no raw ENOTDIR', async () => {
    const dir = temp()
    writeFileSync(path.join(dir, 'file'), 'x')
    const out = path.join(dir, 'file', 'hub')
    // The long name of render's directory flag (its short -o is being retired in favour of -o FORMAT).
    const result = await runCli(['render', 'hub', '-f', 'examples/fedobs.yaml', '--out-dir', out])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`cannot create the directory ${out}: a part of the path is a file, not a directory (ENOTDIR)`)
    expect(result.stderr).toContain('hint:')
    expect(existsSync(out)).toBe(false)
  })

  it('a directory under /proc (where recursive mkdir would spin forever): exit 2 with the path, at once', async () => {
    const out = '/proc/fedobs-test-render/hub'
    const result = await runCli(['render', 'hub', '-f', 'examples/fedobs.yaml', '--out-dir', out])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`cannot create the directory ${out}`)
    expect(existsSync(out)).toBe(false)
  })
})

describe('mkdirs', () => {
  it('creates the missing directories one by one, outermost first, and is idempotent', () => {
    const dir = temp()
    const deep = path.join(dir, 'a', 'b', 'c')
    expect(mkdirs(deep)).toEqual([path.join(dir, 'a'), path.join(dir, 'a', 'b'), deep])
    expect(mkdirs(deep)).toEqual([])
    expect(readdirSync(path.join(dir, 'a', 'b'))).toEqual(['c'])
  })

  it('fails with ENOENT under /proc instead of looping', () => {
    expect(() => mkdirs('/proc/fedobs-test-mkdirs/x')).toThrow(expect.objectContaining({code: 'ENOENT'}) as Error)
  })
})
