import {describe, expect, it} from 'vitest'
import {grafanaPasswordCommand, isLoopbackAddress} from '../../src/cli/grafana.js'
import {isReadyPod} from '../../src/services/grafana-forward.js'

describe('open grafana: the pieces without a cluster', () => {
  it('loopback addresses are the only ones that need no warning', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackAddress(address), address).toBe(true)
    for (const address of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com']) expect(isLoopbackAddress(address), address).toBe(false)
  })

  it('the password command names the context (and a --kubeconfig), quoted for the shell', () => {
    expect(grafanaPasswordCommand('fedobs-hub')).toBe("kubectl --context fedobs-hub -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d")
    expect(grafanaPasswordCommand("it's mine", '/tmp/my config')).toBe(
      "kubectl --kubeconfig '/tmp/my config' --context 'it'\\''s mine' -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d",
    )
  })

  it('a pod is usable when Running, Ready and not terminating', () => {
    const pod = (phase: string, ready: string, deleting = false) => ({
      metadata: {name: 'grafana-1', ...(deleting ? {deletionTimestamp: '2026-01-01T00:00:00Z'} : {})},
      status: {phase, conditions: [{type: 'Ready', status: ready}]},
    })
    expect(isReadyPod(pod('Running', 'True'))).toBe(true)
    expect(isReadyPod(pod('Running', 'False'))).toBe(false)
    expect(isReadyPod(pod('Pending', 'False'))).toBe(false)
    expect(isReadyPod(pod('Running', 'True', true))).toBe(false)
  })
})
