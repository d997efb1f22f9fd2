import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {REPO, runCli} from '../helpers/cli.js'

const EXAMPLE = path.join(REPO, 'examples/fedobs.yaml')

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fedobs-manners-'))
}

describe('help, as kubectl and eksctl users expect it', () => {
  it('`fedobs help connect` shows the help of connect', async () => {
    const result = await runCli(['help', 'connect'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('$ fedobs connect EDGE HUB')
    expect(result.stdout).toContain('--hub-context')
  })

  it('`fedobs -h` lists the topics, like --help', async () => {
    const result = await runCli(['-h'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/TOPICS[\s\S]*cluster/)
    expect(result.stdout).toContain('completion')
  })

  it('`fedobs connect -h` is the help of connect, the same as `fedobs help connect`', async () => {
    const [short, long] = await Promise.all([runCli(['connect', '-h']), runCli(['help', 'connect'])])
    expect(short.code).toBe(0)
    expect(short.stdout).toContain('$ fedobs connect EDGE HUB')
    expect(short.stdout).toBe(long.stdout)
  })

  it('`fedobs help cluster create` shows the help of a command inside a topic', async () => {
    const result = await runCli(['help', 'cluster', 'create'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('$ fedobs cluster create [NAME]')
    expect(result.stdout).toContain('--set-context')
  })
})

describe('did you mean: commands', () => {
  it('`fedobs clustr` suggests `fedobs cluster` and exits 2 without asking (no TTY)', async () => {
    const result = await runCli(['clustr'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('"clustr" is not a fedobs command')
    expect(result.stderr).toContain('did you mean: fedobs cluster')
    expect(result.stderr).not.toMatch(/\?\s*\(Y\/n\)|Did you mean .*\?/)
  })

  it('a typo inside a topic suggests the closest command of that topic only', async () => {
    const result = await runCli(['cluster', 'craete', 'hub'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean: fedobs cluster create\n')
    expect(result.stderr).toContain('`fedobs help cluster`')
  })

  it('with --json the suggestion is the error document on stdout', async () => {
    const result = await runCli(['clustr', 'list', '--json'])
    expect(result.code).toBe(2)
    const {error} = JSON.parse(result.stdout) as {error: {code: string; exitCode: number; suggestions: string[]}}
    expect(error).toMatchObject({code: 'unknown-command', exitCode: 2})
    expect(error.suggestions).toContain('fedobs cluster list')
  })

  it('`fedobs help clustr` suggests too, with the same exit code', async () => {
    const result = await runCli(['help', 'clustr'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean: fedobs cluster')
  })
})

describe('did you mean: flags', () => {
  it('an unknown flag names the closest flag of that command and exits 2', async () => {
    const result = await runCli(['verify', '--clusterr', 'edge-1'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown flag: --clusterr')
    expect(result.stderr).toContain('did you mean: --cluster')
    expect(result.stderr).toContain('`fedobs verify --help`')
  })

  it('suggests a negatable flag by its --no- form', async () => {
    const result = await runCli(['deploy', 'hub', '--no-wiat', '--json'])
    expect(result.code).toBe(2)
    const {error} = JSON.parse(result.stdout) as {error: {code: string; suggestions: string[]}}
    expect(error.code).toBe('usage')
    expect(error.suggestions).toContain('--no-wait')
  })
})

describe('-o is the output format, never a directory', () => {
  it('`render hub -o json` prints a Kubernetes List and creates nothing', async () => {
    const cwd = tempDir()
    const result = await runCli(['render', 'hub', '-f', EXAMPLE, '-o', 'json'], {cwd})
    expect(result.code).toBe(0)
    const list = JSON.parse(result.stdout) as {kind: string; items: unknown[]}
    expect(list.kind).toBe('List')
    expect(list.items.length).toBeGreaterThan(10)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('`render hub -o somedir` is exit 2 naming --out-dir, and creates nothing', async () => {
    const cwd = tempDir()
    const result = await runCli(['render', 'hub', '-f', EXAMPLE, '-o', 'somedir'], {cwd})
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('-o somedir: not an output format (one of json, yaml, table)')
    expect(result.stderr).toContain('--out-dir somedir')
    expect(readdirSync(cwd)).toEqual([])
  })

  it('`render edge --out-dir DIR` (and -d) writes the directory', async () => {
    const dir = path.join(tempDir(), 'edge')
    const result = await runCli(['render', 'edge', 'fed-observability-remote', '-f', EXAMPLE, '-d', dir, '-o', 'json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({cluster: 'fed-observability-remote', directory: dir})
    expect(existsSync(path.join(dir, 'kustomization.yaml'))).toBe(true)
  })

  it('`render hub -o yaml` is the YAML stream and `-o table` lists the objects', async () => {
    const [yaml, table, json] = await Promise.all([
      runCli(['render', 'hub', '-f', EXAMPLE, '-o', 'yaml']),
      runCli(['render', 'hub', '-f', EXAMPLE, '-o', 'table']),
      runCli(['render', 'hub', '-f', EXAMPLE, '--json']),
    ])
    const items = (JSON.parse(json.stdout) as {items: Array<{kind: string; metadata: {name: string; namespace?: string}}>}).items
    expect(parseAllDocuments(yaml.stdout).map((d) => d.toJS())).toEqual(items)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^KIND\s+NAMESPACE\s+NAME$/)
    expect(lines.length).toBe(items.length + 1)
    expect(lines).toContainEqual(expect.stringMatching(/^StatefulSet\s+observability-hub\s+otel-gateway$/))
  })

  it('`-o yaml` prints the same document as --json, in YAML, on any command', async () => {
    const [yaml, json] = await Promise.all([runCli(['config', 'validate', '-f', EXAMPLE, '-o', 'yaml']), runCli(['config', 'validate', '-f', EXAMPLE, '--json'])])
    expect(yaml.code).toBe(0)
    expect(yaml.stderr).toBe('')
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout))
  })

  it('`--output=json` and `-ojson` are -o json; an error under -o yaml is a YAML error document', async () => {
    const long = await runCli(['config', 'validate', '-f', EXAMPLE, '--output=json'])
    expect(JSON.parse(long.stdout)).toMatchObject({valid: true})
    const short = await runCli(['config', 'validate', '-f', EXAMPLE, '-ojson'])
    expect(JSON.parse(short.stdout)).toMatchObject({valid: true})
    const failed = await runCli(['config', 'validate', '-f', path.join(tempDir(), 'missing.yaml'), '-o', 'yaml'])
    expect(failed.code).toBe(2)
    expect(parse(failed.stdout)).toMatchObject({error: {exitCode: 2}})
  })

  it('a document asked for with -o is never coloured, even when colour is forced', async () => {
    const result = await runCli(['clustr', '-o', 'yaml'], {env: {FORCE_COLOR: '1', NO_COLOR: undefined}})
    expect(result.code).toBe(2)
    expect(parse(result.stdout)).toMatchObject({error: {code: 'unknown-command'}})
    expect(result.stdout + result.stderr).not.toContain('\u001B[')
  })

  it('--json and -o yaml together are bad usage', async () => {
    const result = await runCli(['config', 'validate', '-f', EXAMPLE, '--json', '-o', 'yaml'])
    expect(result.code).toBe(2)
    expect(result.stderr + result.stdout).toContain('--json and -o yaml ask for different formats')
  })
})

// Shells to check the completion scripts with: bash everywhere; zsh and fish are installed on CI
// (Debian packages zsh, fish). Locally a missing one skips its checks; under CI it fails.
function hasShell(shell: string): boolean {
  const found = spawnSync(shell, ['-c', 'exit 0']).status === 0
  if (!found && process.env.CI) throw new Error(`${shell} is required under CI to check its completion script (Debian package ${shell})`)
  return found
}

describe('shell completion', () => {
  const cache = tempDir()
  const env = {XDG_CACHE_HOME: cache, HOME: cache}
  const script = async (shell: string): Promise<string> => {
    const result = await runCli(['completion', shell], {env})
    expect(result.code, result.stderr).toBe(0)
    const file = path.join(cache, `fedobs.${shell}`)
    writeFileSync(file, result.stdout)
    return file
  }

  it('bash: the script parses (bash -n) and completes commands, subcommands and flags', async () => {
    const file = await script('bash')
    expect(spawnSync('bash', ['-n', file]).status).toBe(0)
    const complete = (words: string[]): string[] => {
      const run = spawnSync(
        'bash',
        ['-c', `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fedobs_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`, file],
        {encoding: 'utf8'},
      )
      expect(run.status, run.stderr).toBe(0)
      return [...new Set(run.stdout.split('\n').filter(Boolean))]
    }
    expect(complete(['fedobs', 'clu'])).toEqual(['cluster'])
    expect(complete(['fedobs', 'cluster', 'cr'])).toEqual(['create'])
    expect(complete(['fedobs', 'render', 'hub', '--out'])).toEqual(['--output', '--out-dir'])
  })

  it.skipIf(!hasShell('zsh'))('zsh: the script parses (zsh -n) and, sourced after compinit, registers _fedobs', async () => {
    const file = await script('zsh')
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0)
    const run = spawnSync('zsh', ['-fc', `autoload -Uz compinit; compinit -u -d "$1/zcompdump"; source "$0"; print -- $_comps[fedobs]`, file, cache], {encoding: 'utf8'})
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('_fedobs')
  })

  it.skipIf(!hasShell('fish'))('fish: the script parses (fish -n) and completes commands, subcommands, flags and -o values', async () => {
    const file = await script('fish')
    const check = spawnSync('fish', ['-n', file], {encoding: 'utf8'})
    expect(check.status, check.stderr).toBe(0)
    const complete = (line: string): string[] => {
      const run = spawnSync('fish', ['--no-config', '-c', `source $argv[1]; complete -C $argv[2]`, file, line], {encoding: 'utf8'})
      expect(run.status, run.stderr).toBe(0)
      return run.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]!)
    }
    expect(complete('fedobs clu')).toEqual(['cluster'])
    expect(complete('fedobs cluster ').sort()).toEqual(['create', 'delete', 'kubeconfig', 'list'])
    expect(complete('fedobs cluster create --set')).toEqual(['--set-context'])
    expect(complete('fedobs verify -o ').sort()).toEqual(['json', 'table', 'yaml'])
    expect(complete('fedobs render hub --out')).toContain('--out-dir')
    expect(complete('fedobs completion ').sort()).toEqual(['bash', 'fish', 'zsh'])
  })

  it('`fedobs autocomplete bash` (the plugin) prints the set-up steps', async () => {
    const result = await runCli(['autocomplete', 'bash'], {env})
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('fedobs autocomplete script bash')
  })
})
