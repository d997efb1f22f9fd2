import {readFileSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {UsageError} from '../lib/errors.js'

export interface TokenSource {
  token: string
  /** Where it came from, for messages (never the token itself). */
  source: string
}

/**
 * The Linode token, in this order: --token-file, LINODE_TOKEN, LINODE_TOKEN_FILE (a file holding it,
 * as the sandbox exports), LINODE_CLI_TOKEN, then the
 * linode-cli config file ([DEFAULT] default-user = NAME, [NAME] token = ...).
 */
export function resolveToken(options: {tokenFile?: string; env?: NodeJS.ProcessEnv; home?: string} = {}): TokenSource {
  const env = options.env ?? process.env
  if (options.tokenFile) {
    let text: string
    try {
      text = readFileSync(options.tokenFile, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${options.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {code: 'no-token'})
    }
    const token = text.trim()
    if (!token) throw new UsageError(`--token-file ${options.tokenFile} is empty`, {code: 'no-token'})
    return {token, source: `--token-file ${options.tokenFile}`}
  }
  if (env.LINODE_TOKEN?.trim()) return {token: env.LINODE_TOKEN.trim(), source: 'LINODE_TOKEN'}
  if (env.LINODE_TOKEN_FILE?.trim()) return resolveToken({...options, env, tokenFile: env.LINODE_TOKEN_FILE.trim()})
  if (env.LINODE_CLI_TOKEN?.trim()) return {token: env.LINODE_CLI_TOKEN.trim(), source: 'LINODE_CLI_TOKEN'}
  const home = options.home ?? homedir()
  const configHome = env.XDG_CONFIG_HOME || path.join(home, '.config')
  for (const file of [path.join(configHome, 'linode-cli'), path.join(home, '.linode-cli')]) {
    const token = tokenFromCliConfig(file)
    if (token) return {token, source: file}
  }
  throw new UsageError('no Linode API token', {
    hint: 'Set LINODE_TOKEN (or LINODE_CLI_TOKEN), pass --token-file FILE, or configure linode-cli.',
    code: 'no-token',
  })
}

function tokenFromCliConfig(file: string): string | undefined {
  let text: string
  try {
    if (!statSync(file).isFile()) return undefined
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const sections = new Map<string, Map<string, string>>()
  let current = new Map<string, string>()
  sections.set('', current)
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      current = new Map()
      sections.set(header[1]!.trim(), current)
      continue
    }
    const pair = /^([^=:]+)[=:](.*)$/.exec(line)
    if (pair) current.set(pair[1]!.trim(), pair[2]!.trim())
  }
  const user = sections.get('DEFAULT')?.get('default-user')
  return (user ? sections.get(user)?.get('token') : undefined) ?? sections.get('DEFAULT')?.get('token') ?? undefined
}
