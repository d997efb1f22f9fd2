import {spawn} from 'node:child_process'
import {GRAFANA_NAMESPACE} from '../services/grafana-forward.js'
import {SECRETS} from '../render/security.js'
import {shellWord} from './select.js'

/** The shell command that prints Grafana's admin password (what fedobs prints instead of the password). */
export function grafanaPasswordCommand(context: string, kubeconfig?: string): string {
  const kubectl = `kubectl${kubeconfig ? ` --kubeconfig ${shellWord(kubeconfig)}` : ''} --context ${shellWord(context)} -n ${GRAFANA_NAMESPACE}`
  return `${kubectl} get secret ${SECRETS.grafanaAdmin} -o jsonpath='{.data.admin-password}' | base64 -d`
}

/** True for an address only this machine can reach. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./.test(host)
}

/** Open a URL in the desktop's browser (xdg-open, open, start); resolves false when that failed to start. */
export function openBrowser(url: string): Promise<boolean> {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  return new Promise((resolve) => {
    const child = spawn(command, args, {detached: true, stdio: 'ignore'})
    child.once('error', () => resolve(false))
    child.once('spawn', () => {
      child.unref()
      resolve(true)
    })
  })
}
