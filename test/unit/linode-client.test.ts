import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {normalizeBaseUrl, retryDelayMs} from '../../src/linode/client.js'
import {resolveToken} from '../../src/linode/token.js'
import {parseDuration} from '../../src/lib/time.js'

describe('token resolution', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
  const tokenFile = path.join(home, 'token')
  writeFileSync(tokenFile, 'from-file\n')
  writeFileSync(path.join(home, '.linode-cli'), '[DEFAULT]\ndefault-user = alice\n\n[alice]\ntoken = from-cli-config\nregion = us-ord\n')

  it('prefers --token-file, then LINODE_TOKEN, then LINODE_CLI_TOKEN, then the linode-cli config', () => {
    const env = {LINODE_TOKEN: 'from-env', LINODE_CLI_TOKEN: 'from-cli-env'}
    expect(resolveToken({tokenFile, env, home}).token).toBe('from-file')
    expect(resolveToken({env, home}).token).toBe('from-env')
    expect(resolveToken({env: {LINODE_CLI_TOKEN: 'from-cli-env'}, home}).token).toBe('from-cli-env')
    expect(resolveToken({env: {}, home})).toEqual({token: 'from-cli-config', source: path.join(home, '.linode-cli')})
  })

  it('says where to put a token when there is none (exit 2), never echoing one', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'fedobs-home-'))
    expect(() => resolveToken({env: {}, home: empty})).toThrow(/no Linode API token/)
  })
})

describe('LINODE_URL', () => {
  it('takes scheme://host[:port] and drops a trailing /v4 or /v4beta', () => {
    expect(normalizeBaseUrl(undefined)).toBe('https://api.linode.com')
    expect(normalizeBaseUrl('http://127.0.0.1:8089')).toBe('http://127.0.0.1:8089')
    expect(normalizeBaseUrl('http://127.0.0.1:8089/v4/')).toBe('http://127.0.0.1:8089')
    expect(normalizeBaseUrl('https://api.linode.com/v4beta')).toBe('https://api.linode.com')
    expect(() => normalizeBaseUrl('ftp://x')).toThrow(/http or https/)
    expect(() => normalizeBaseUrl('not a url')).toThrow(/not a URL/)
  })
})

describe('retry delays', () => {
  it('honour Retry-After clamped to [3 s, 30 s] with at most 20% jitter', () => {
    for (let i = 0; i < 200; i++) {
      expect(retryDelayMs(1, 0)).toBeGreaterThanOrEqual(2400)
      expect(retryDelayMs(1, 0)).toBeLessThanOrEqual(3600)
      expect(retryDelayMs(120, 0)).toBeLessThanOrEqual(36_000)
      expect(retryDelayMs(10, 0)).toBeGreaterThanOrEqual(8000)
      expect(retryDelayMs(10, 0)).toBeLessThanOrEqual(12_000)
    }
  })
})

describe('durations', () => {
  it('parses 90s, 20m, 1h30m', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('20m')).toBe(1_200_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('soon')).toBeUndefined()
    expect(parseDuration('')).toBeUndefined()
  })
})
