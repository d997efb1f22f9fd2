/**
 * JSON Schemas of every command's `--json` (`-o json`, and `-o yaml`: the same data) document.
 * schema/<name>.schema.json is each of these written out (`npm run schemas`); a test checks that the
 * files equal these objects, and the CLI tests validate what the commands print against the files.
 * A failing command prints the error document instead (schema/error.schema.json), exit code ≠ 0.
 */
import {statusSchema} from '../services/status-schema.js'
import {upSchema} from '../services/up-schema.js'
import {verifySchema} from '../verify/schema.js'

const DRAFT = 'http://json-schema.org/draft-07/schema#'
const BASE = 'https://github.com/fedobs/fedobs/schema/'

const string = {type: 'string'} as const
const strings = {type: 'array', items: string} as const
const count = {type: 'integer', minimum: 0} as const
const id = {type: 'integer', minimum: 1} as const
const time = {type: 'string', format: 'date-time'} as const

function document<T extends object>(name: string, title: string, schema: T) {
  return {$schema: DRAFT, $id: `${BASE}${name}.schema.json`, title, ...schema}
}

/** An object whose every property is listed; `required` names those always present. */
function closed<P extends Record<string, unknown>, R extends readonly (keyof P & string)[]>(properties: P, required: R) {
  return {type: 'object', additionalProperties: false, required, properties} as const
}

const configIssue = closed({file: string, line: count, column: count, field: string, message: string, expected: string, validValues: strings, suggestion: string}, [
  'file',
  'line',
  'column',
  'field',
  'message',
])

/** The error form of every command's document (what catch() prints). */
const errorBody = closed(
  {
    code: {type: 'string', description: 'Stable machine-readable reason, e.g. usage, unknown-command, unknown-cluster, invalid-config, operation-failed, cancelled.'},
    message: string,
    exitCode: {type: 'integer', enum: [1, 2, 130], description: 'The process exit code (see the README: 1 failure, 2 bad usage, 130 interrupted).'},
    hint: {type: 'string', description: 'What to do next.'},
    suggestions: {...strings, description: 'Did you mean: the closest valid commands, flags or names.'},
    issues: {type: 'array', items: configIssue, description: 'Every problem of an invalid federation file, with file:line:column.'},
  },
  ['code', 'message', 'exitCode'],
)

/** A task of a concurrent command that failed while others went on. */
const failedTask = (error: object) => closed({cluster: {type: 'string', description: 'The task: a cluster, or "<role> <cluster>".'}, error}, ['cluster', 'error'])

const clusterRow = closed(
  {
    id: {...id, description: 'LKE cluster id; absent when the cluster is not created yet.'},
    label: string,
    role: {type: 'string', enum: ['hub', 'edge']},
    region: string,
    version: string,
    status: {type: 'string', description: 'ready, not_ready, or "not created" (in the file, not in the cloud).'},
    nodesReady: count,
    nodesTotal: count,
    context: {type: 'string', description: 'The fedobs-<name> kubeconfig context, when it exists.'},
  },
  ['label', 'status', 'nodesReady', 'nodesTotal'],
)

const pool = closed({type: string, count, ready: count}, ['type', 'count', 'ready'])

const createdCluster = closed(
  {
    name: string,
    id,
    reused: {type: 'boolean', description: 'The cluster existed (same label) and was reused.'},
    status: string,
    region: string,
    pools: {type: 'array', items: pool},
    context: {type: 'string', description: 'fedobs-<name>.'},
    lkeContext: {type: 'string', description: "LKE's own lke<ID>-ctx."},
    kubeconfigFile: {type: 'string', description: 'The per-cluster kubeconfig file (0600).'},
  },
  ['name', 'id', 'reused', 'status', 'region', 'pools'],
)

const createRequest = closed(
  {
    cluster: string,
    role: {type: 'string', enum: ['hub', 'edge']},
    request: closed({method: {const: 'POST'}, path: string, body: {type: 'object', description: 'The exact Linode API payload (CreateKubeClusterPayload).'}}, ['method', 'path', 'body']),
  },
  ['cluster', 'role', 'request'],
)

const namespaced = closed({namespace: string, name: string, ip: string, volume: string}, ['namespace', 'name'])

const deletePlanProperties = {
  name: string,
  cluster: closed({id, region: string, status: string, tags: strings}, ['id', 'region', 'status', 'tags']),
  id,
  release: closed({loadBalancers: {type: 'array', items: namespaced}, claims: {type: 'array', items: namespaced}, reachable: {type: 'boolean'}, error: string}, [
    'loadBalancers',
    'claims',
    'reachable',
  ]),
  nodeBalancers: {type: 'array', items: closed({id, label: string}, ['id', 'label'])},
  volumes: {type: 'array', items: closed({id, label: string, attached: {type: 'boolean'}}, ['id', 'label', 'attached'])},
  kubeconfigFile: string,
} as const
const deletePlanRequired = ['name', 'release', 'nodeBalancers', 'volumes'] as const

const deleteDocument = {
  oneOf: [
    closed({dryRun: {const: true}, plans: {type: 'array', items: closed(deletePlanProperties, deletePlanRequired)}}, ['dryRun', 'plans']),
    closed(
      {
        deleted: {
          type: 'array',
          items: closed(
            {
              ...deletePlanProperties,
              deleted: {type: 'boolean'},
              alreadyGone: {type: 'boolean', description: 'Already gone is success.'},
              removedKubeconfig: closed({clusters: strings, users: strings, contexts: strings}, ['clusters', 'users', 'contexts']),
              leftBehind: {...strings, description: 'What could not be removed yet (run again to finish).'},
            },
            [...deletePlanRequired, 'deleted', 'alreadyGone', 'removedKubeconfig', 'leftBehind'],
          ),
        },
        failed: {type: 'array', items: failedTask(string)},
      },
      ['deleted', 'failed'],
    ),
  ],
} as const

const k8sList = closed(
  {
    apiVersion: {const: 'v1'},
    kind: {const: 'List'},
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'metadata'],
        properties: {apiVersion: string, kind: string, metadata: {type: 'object', required: ['name'], properties: {name: string, namespace: string}}},
      },
    },
  },
  ['apiVersion', 'kind', 'items'],
)

const renderDocument = {
  oneOf: [
    {...k8sList, description: 'Without --out-dir: the rendered objects as a Kubernetes List (kubectl apply -f accepts it).'},
    {
      ...closed(
        {
          cluster: string,
          role: {type: 'string', enum: ['hub', 'edge']},
          directory: string,
          files: {...strings, description: 'Files written, kustomization.yaml among them.'},
          removed: {...strings, description: 'Files fedobs wrote before and no longer renders, removed.'},
          objects: count,
        },
        ['cluster', 'role', 'directory', 'files', 'removed', 'objects'],
      ),
      description: 'With --out-dir: what was written.',
    },
  ],
} as const

const applyAction = {type: 'string', enum: ['created', 'configured', 'unchanged']} as const
const credentials = closed({cluster: string, issued: {type: 'boolean'}, reason: string, notAfter: time}, ['cluster', 'issued', 'notAfter'])
const firewall = closed({edge: string, sources: strings, changed: {type: 'boolean'}, allowList: strings, warnings: strings}, ['edge', 'sources', 'changed', 'allowList', 'warnings'])

const deployResult = closed(
  {
    cluster: string,
    role: {type: 'string', enum: ['hub', 'edge']},
    context: {type: 'string', description: 'The kubeconfig context deployed to.'},
    dryRun: {type: 'boolean'},
    applied: {type: 'array', items: closed({key: {type: 'string', description: 'kind/namespace/name.'}, action: applyAction, note: string}, ['key', 'action'])},
    counts: closed({created: count, configured: count, unchanged: count}, ['created', 'configured', 'unchanged']),
    pruned: strings,
    gpuNodesLabelled: strings,
    patchedAgents: strings,
    replaced: strings,
    ready: {type: 'boolean', description: 'Every workload became ready (false with --no-wait or --dry-run).'},
    gatewayAddress: {type: 'string', description: "The hub gateway's external address."},
    gatewayAddresses: strings,
    grafanaSecretCreated: {type: 'boolean'},
    timings: closed({applyMs: count, pruneMs: count, waitMs: count}, ['applyMs', 'pruneMs', 'waitMs']),
    warnings: strings,
    pki: closed({caCreated: {type: 'boolean'}, issued: strings}, ['caCreated', 'issued']),
    credentials,
    firewall,
  },
  ['cluster', 'role', 'context', 'dryRun', 'applied', 'counts', 'pruned', 'gpuNodesLabelled', 'patchedAgents', 'replaced', 'ready', 'timings'],
)

const certificateStatus = closed(
  {
    kind: {type: 'string', enum: ['root', 'gateway', 'cluster-ca', 'client']},
    cluster: string,
    role: {type: 'string', enum: ['hub', 'edge']},
    subject: string,
    serial: string,
    notAfter: time,
    daysLeft: {type: 'integer', description: 'Whole days left (negative once expired).'},
    state: {type: 'string', enum: ['valid', 'expiring', 'expired', 'revoked', 'missing']},
  },
  ['kind', 'subject', 'state'],
)

const installedCheck = closed({cluster: string, state: {type: 'string', enum: ['ok', 'missing', 'foreign', 'stale', 'expired', 'revoked', 'unreachable']}, detail: string, notAfter: time}, [
  'cluster',
  'state',
  'detail',
])

/** Every command's document, by schema file name (schema/<name>.schema.json); the command is the name with spaces. */
export const commandSchemas = {
  error: document('error', 'fedobs COMMAND --json, when the command fails', closed({error: errorBody}, ['error'])),
  'cluster-list': document('cluster-list', 'fedobs cluster list --json', closed({clusters: {type: 'array', items: clusterRow}}, ['clusters'])),
  'cluster-create': document('cluster-create', 'fedobs cluster create --json', {
    oneOf: [
      closed({dryRun: {const: true}, requests: {type: 'array', items: createRequest}}, ['dryRun', 'requests']),
      closed(
        {
          clusters: {type: 'array', items: createdCluster},
          failed: {type: 'array', items: failedTask(errorBody)},
          apiCalls: {...count, description: 'Linode API requests this run sent.'},
        },
        ['clusters', 'failed', 'apiCalls'],
      ),
    ],
  }),
  'cluster-kubeconfig': document(
    'cluster-kubeconfig',
    'fedobs cluster kubeconfig --json',
    closed({cluster: string, id, context: string, lkeContext: string, kubeconfig: {type: 'string', description: 'The kubeconfig merged into.'}, file: string}, [
      'cluster',
      'id',
      'context',
      'lkeContext',
      'kubeconfig',
      'file',
    ]),
  ),
  'cluster-delete': document('cluster-delete', 'fedobs cluster delete --json', deleteDocument),
  teardown: document('teardown', 'fedobs teardown --json', deleteDocument),
  'config-validate': document(
    'config-validate',
    'fedobs config validate --json',
    closed({valid: {const: true}, file: string, federation: string, hub: string, edges: strings}, ['valid', 'file', 'federation', 'hub', 'edges']),
  ),
  'config-schema': document('config-schema', "fedobs config schema --json: the federation file's JSON Schema (schema/fedobs.schema.json)", {$ref: DRAFT}),
  'render-hub': document('render-hub', 'fedobs render hub --json', renderDocument),
  'render-edge': document('render-edge', 'fedobs render edge --json', renderDocument),
  'deploy-hub': document('deploy-hub', 'fedobs deploy hub --json', deployResult),
  'deploy-edge': document('deploy-edge', 'fedobs deploy edge --json', deployResult),
  'deploy-all': document(
    'deploy-all',
    'fedobs deploy all --json',
    closed({clusters: {type: 'array', items: deployResult}, failed: {type: 'array', items: failedTask(string)}}, ['clusters', 'failed']),
  ),
  connect: document(
    'connect',
    'fedobs connect --json',
    closed(
      {
        edge: string,
        hub: string,
        hubEndpoint: {type: 'string', description: 'HOST:PORT the edge ships to.'},
        previousEndpoint: string,
        changed: {type: 'boolean'},
        deploy: closed({counts: deployResult.properties.counts, pruned: strings, gpuNodesLabelled: strings}, ['counts', 'pruned', 'gpuNodesLabelled']),
        localStack: closed({found: strings, removed: strings, kept: strings}, ['found', 'removed', 'kept']),
        credentials,
        firewall,
      },
      ['edge', 'hub', 'hubEndpoint', 'changed', 'deploy', 'localStack', 'firewall'],
    ),
  ),
  verify: verifySchema,
  report: document(
    'report',
    'fedobs report --json (exit 1 when a check failed: the page is written all the same)',
    closed(
      {
        file: {type: 'string', description: 'Absolute path of the HTML page written.'},
        bytes: {...count, description: 'Its size in bytes.'},
        ok: {type: 'boolean', description: 'No check failed (as `fedobs verify`); the exit code is 0 exactly when this is true.'},
        summary: closed({ok: count, warn: count, fail: count}, ['ok', 'warn', 'fail']),
      },
      ['file', 'bytes', 'ok', 'summary'],
    ),
  ),
  'certs-status': document(
    'certs-status',
    'fedobs certs status --json',
    closed({federation: string, certificates: {type: 'array', items: certificateStatus}, installed: {type: 'array', items: installedCheck}}, ['federation', 'certificates', 'installed']),
  ),
  'certs-rotate': document('certs-rotate', 'fedobs certs rotate --json', {
    oneOf: [
      {...credentials, description: 'CLUSTER: its new client certificate and identity token.'},
      closed({gateway: closed({issued: {type: 'boolean'}, notAfter: time, sans: strings}, ['issued', 'notAfter', 'sans'])}, ['gateway']),
    ],
  }),
  up: upSchema,
  status: statusSchema,
  down: document('down', 'fedobs down --json (teardown under another name)', deleteDocument),
  'sandbox-start': document(
    'sandbox-start',
    'fedobs sandbox start --json',
    closed(
      {
        running: {const: true},
        pid: id,
        dir: string,
        linodeUrl: string,
        timeScale: {type: 'number'},
        env: {type: 'object', additionalProperties: string, description: 'What to export: LINODE_URL, LINODE_TOKEN_FILE (never the token), KUBECONFIG, FEDOBS_*.'},
      },
      ['running', 'pid', 'dir', 'linodeUrl', 'timeScale', 'env'],
    ),
  ),
  'sandbox-stop': document(
    'sandbox-stop',
    'fedobs sandbox stop --json',
    closed({stopped: {type: 'boolean', description: 'A sandbox was running (or had left processes behind) and is stopped.'}}, ['stopped']),
  ),
  'sandbox-status': document(
    'sandbox-status',
    'fedobs sandbox status --json (exit 1 when not running)',
    closed(
      {
        running: {type: 'boolean'},
        pid: id,
        startedAt: time,
        linodeUrl: string,
        clusters: {type: 'array', items: closed({lkeId: id, label: string, status: string, nodes: count, server: string}, ['lkeId', 'label', 'status', 'nodes', 'server'])},
        processes: {type: 'array', items: closed({cluster: string, name: string, running: {type: 'boolean'}, starts: count}, ['cluster', 'name', 'running', 'starts'])},
        errors: {...strings, description: 'Problems of its last round (a workload that could not be run as deployed).'},
      },
      ['running', 'clusters', 'processes', 'errors'],
    ),
  ),
  'sandbox-env': document('sandbox-env', 'fedobs sandbox env --json (exit 1 when not running)', closed({env: {type: 'object', additionalProperties: string}}, ['env'])),
  'dashboards-export': document(
    'dashboards-export',
    'fedobs dashboards export --json',
    closed(
      {
        directory: {type: 'string', description: 'The directory written into (absolute).'},
        files: {
          type: 'array',
          items: closed(
            {
              uid: string,
              title: string,
              file: {type: 'string', description: '<uid>.json'},
              path: {type: 'string', description: 'Its absolute path.'},
              status: {type: 'string', enum: ['written', 'overwritten', 'unchanged'], description: 'overwritten only with --force; unchanged: the identical file was there.'},
            },
            ['uid', 'title', 'file', 'path', 'status'],
          ),
        },
        inputs: {
          type: 'array',
          description: 'The datasource inputs (__inputs) Grafana asks for on import.',
          items: closed({name: {type: 'string', description: 'e.g. DS_PROMETHEUS'}, label: string, description: string, type: {const: 'datasource'}, pluginId: string, pluginName: string}, [
            'name',
            'label',
            'description',
            'type',
            'pluginId',
            'pluginName',
          ]),
        },
      },
      ['directory', 'files', 'inputs'],
    ),
  ),
  'certs-revoke': document('certs-revoke', 'fedobs certs revoke --json', closed({cluster: string, revoked: {type: 'boolean'}, at: time}, ['cluster', 'revoked', 'at'])),
  'open-grafana': document(
    'open-grafana',
    'fedobs open grafana --json (printed once listening; the command keeps forwarding until Ctrl-C or SIGTERM)',
    closed(
      {
        url: {type: 'string', description: 'The local URL of Grafana, e.g. http://127.0.0.1:3000/.'},
        address: {type: 'string', description: 'The local address listened on (--address).'},
        localPort: {type: 'integer', minimum: 1, maximum: 65535},
        namespace: string,
        pod: {type: 'string', description: 'The Grafana pod forwarded to at start (a replacement pod is picked when it goes).'},
        context: {type: 'string', description: "The hub's kubeconfig context."},
        passwordCommand: {type: 'string', description: 'A shell command that prints the admin password (never the password itself).'},
        password: {type: 'string', description: 'The admin password: only with --show-password.'},
      },
      ['url', 'address', 'localPort', 'namespace', 'pod', 'context', 'passwordCommand'],
    ),
  ),
} as const

export type SchemaName = keyof typeof commandSchemas
