import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {grafanaPasswordCommand, isLoopbackAddress, openBrowser} from '../../cli/grafana.js'
import {kubeFor, kubeFlags} from '../../cli/kube.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {GRAFANA_PORT, readGrafanaPassword, startGrafanaForward, type ForwardEvent} from '../../services/grafana-forward.js'

export default class OpenGrafana extends BaseCommand<typeof OpenGrafana> {
  static override summary = "Reach the hub's Grafana: a local port forwarded through the hub API server."
  static override description = `Picks a Ready Grafana pod on the hub (namespace monitoring, label app.kubernetes.io/name=grafana) and forwards a local port to it through the hub API server (the pods/portforward subresource, as \`kubectl port-forward\` does; no Service or LoadBalancer is exposed). Listens on 127.0.0.1:3000 (--address, --port; when 3000 is busy and --port was not given, a free port, with a note). Prints the local URL on stdout and, on stderr, how to read the admin password — never the password itself unless --show-password. Keeps forwarding until Ctrl-C or SIGTERM (exit 0); when the pod restarts or is replaced, the next Ready pod is picked. With -o json, one document {url, localPort, pod, context, passwordCommand, ...} once listening. Exit 1 when there is no Ready Grafana pod or the hub cannot be reached, 2 on bad usage (an unknown context, a busy --port).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'Open it in the browser as well', command: '<%= config.bin %> <%= command.id %> --open'},
    {description: 'Another local port, for a script', command: '<%= config.bin %> <%= command.id %> --port 3300 -o json'},
  ]

  static override flags = {
    ...fileFlag,
    ...kubeFlags,
    port: Flags.integer({description: 'Local port (default 3000; when it is busy, a free port).', min: 0, max: 65535, helpValue: 'PORT'}),
    address: Flags.string({description: 'Local address to listen on; anything but loopback lets other machines reach Grafana.', default: '127.0.0.1', helpValue: 'IP'}),
    open: Flags.boolean({description: 'Open the URL in the browser (only on a terminal).'}),
    'show-password': Flags.boolean({description: 'Print the admin password (read from Secret monitoring/grafana-admin) instead of the command that reads it.'}),
  }

  async run(): Promise<void> {
    const {flags, output} = this
    const federation = loadFederation({file: flags.file})
    const kube = await kubeFor(federation.hub, {kubeconfig: flags.kubeconfig, context: flags.context})
    if (!isLoopbackAddress(flags.address)) output.warn(`listening on ${flags.address}: Grafana's login page is reachable by anyone who can reach this machine on that address`)

    let lastFailure = ''
    const onEvent = (event: ForwardEvent): void => {
      if (event.type === 'pod-changed') output.info(`Grafana pod ${event.from} is gone or not Ready: forwarding to ${event.to} now`)
      else if (event.type === 'pod-lost') output.warn(`Grafana pod ${event.pod}: ${event.reason}; still listening, trying again on the next connection`)
      else if (event.message !== lastFailure) output.warn(`a connection to pod ${event.pod} failed: ${event.message}`)
      if (event.type === 'connection-failed') lastFailure = event.message
    }
    const forward = await startGrafanaForward({
      kube,
      address: flags.address,
      port: flags.port ?? GRAFANA_PORT,
      fallbackToFreePort: flags.port === undefined,
      signal: this.abort.signal,
      onEvent,
      log: (message) => output.debug(message),
    })
    try {
      const passwordCommand = grafanaPasswordCommand(kube.context, flags.kubeconfig)
      const password = flags['show-password'] ? await readGrafanaPassword(kube) : undefined
      if (flags['show-password'] && password === undefined) output.warn('Secret monitoring/grafana-admin has no admin-password: `fedobs deploy hub` creates it')
      if (forward.portFallback) output.warn(`port ${flags.port ?? GRAFANA_PORT} on ${flags.address} is in use: listening on port ${forward.localPort} instead`)
      if (output.json) {
        output.document({
          url: forward.url,
          address: forward.address,
          localPort: forward.localPort,
          namespace: forward.namespace,
          pod: forward.pod(),
          context: kube.context,
          passwordCommand,
          ...(password === undefined ? {} : {password}),
        })
      } else {
        output.result(forward.url)
        output.info(`forwarding ${forward.address}:${forward.localPort} → pod ${forward.namespace}/${forward.pod()}:${GRAFANA_PORT} through the API server of context ${kube.context}`)
        output.info(password === undefined ? `log in as admin; the password: ${passwordCommand}` : `log in as admin, password ${password}`)
        output.info('Ctrl-C to stop')
      }
      if (flags.open) {
        const terminal = (process.stdin.isTTY ?? false) && ((process.stdout.isTTY ?? false) || (process.stderr.isTTY ?? false)) && !process.env.CI
        if (!terminal) output.warn(`--open: no terminal here, so no browser is started; open ${forward.url} yourself`)
        else if (!(await openBrowser(forward.url))) output.warn(`--open: could not start a browser; open ${forward.url} yourself`)
      }
      // Until Ctrl-C or SIGTERM: stopping is how this command is meant to end (exit 0).
      await new Promise<void>((resolve) => {
        if (this.abort.signal.aborted) resolve()
        else this.abort.signal.addEventListener('abort', () => resolve(), {once: true})
      })
    } finally {
      await forward.stop()
    }
    if (!output.json) output.info('stopped forwarding')
  }
}
