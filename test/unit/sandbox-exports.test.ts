import {describe, expect, it} from 'vitest'
import {parseExportLines} from '../../src/sandbox/state.js'

describe('parseExportLines: the environment `fedobs sandbox start` prints, read back', () => {
  it('reads every export line, undoes sh quoting and ignores anything else', () => {
    const text = ["export LINODE_URL='http://127.0.0.1:4000'", "export KUBECONFIG='/tmp/it'\\''s/kubeconfig'", 'sandbox: a note on stdout', "export EMPTY=''", 'export BAD=unquoted'].join('\n')
    expect(parseExportLines(text)).toEqual({LINODE_URL: 'http://127.0.0.1:4000', KUBECONFIG: "/tmp/it's/kubeconfig", EMPTY: ''})
  })
})
