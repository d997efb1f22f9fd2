import Teardown from './teardown.js'

/** `fedobs down`: the counterpart of `up`, exactly `teardown` (the same flags, confirmation and sweep). */
export default class Down extends Teardown {
  static override summary = 'Undo `fedobs up`: delete every cluster of the federation and what LKE leaves behind.'
  static override description = `The same as \`fedobs teardown\`: for each cluster of the federation file (or, with --federation and no file, each cluster tagged with that federation), concurrently: LoadBalancer Services and volume claims released while the cluster lives, the cluster deleted, its NodeBalancers and tagged volumes swept, its kubeconfig entries removed. Asks once on a terminal; without one it needs --yes (exit 2 otherwise, nothing deleted). Already gone is success: running it twice is fine.`

  static override examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %> --yes', '<%= config.bin %> <%= command.id %> -f fedobs.yaml --yes --json']
}
