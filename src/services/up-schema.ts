/** JSON Schema of `fedobs up --json` (schema/up.schema.json is this, written out). */
import {verifySchema} from '../verify/schema.js'

const {$schema: _schema, $id: _id, title: _title, ...verifyReport} = verifySchema
const steps = ['create', 'deploy-hub', 'deploy-edges', 'connect', 'verify'] as const

export const upSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/fedobs/fedobs/schema/up.schema.json',
  title: 'fedobs up --json',
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'interrupted', 'federation', 'steps', 'clusters', 'gateway', 'grafana', 'failures', 'warnings', 'localStacksKept'],
  properties: {
    ok: {type: 'boolean', description: 'Every step finished and verify (when it ran) passed. The exit code is 0 exactly when this is true.'},
    interrupted: {type: 'boolean', description: 'Ctrl-C or SIGTERM stopped the run (exit 130); `clusters` says what exists.'},
    interruptedAt: {type: 'string', enum: steps, description: 'The step that was running when the run was interrupted.'},
    federation: {type: 'string'},
    steps: {
      type: 'array',
      description: 'Every step in order (empty when interrupted).',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['step', 'title', 'status'],
        properties: {
          step: {type: 'string', enum: steps},
          title: {type: 'string'},
          status: {type: 'string', enum: ['done', 'failed', 'not-started', 'skipped'], description: 'skipped: --skip-verify; not-started: an earlier step failed.'},
        },
      },
    },
    clusters: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role', 'created', 'deployed'],
        properties: {
          name: {type: 'string'},
          role: {type: 'string', enum: ['hub', 'edge']},
          id: {type: 'integer', description: 'The LKE cluster id.'},
          reused: {type: 'boolean', description: 'The cluster existed before this run.'},
          created: {type: 'boolean', description: 'The cluster exists with its kubeconfig merged and every node ready.'},
          deployed: {type: 'boolean'},
          connected: {type: 'boolean', description: 'Edges only: ships to the hub gateway.'},
          context: {type: 'string', description: 'The kubeconfig context fedobs merged.'},
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['step', 'message'],
            properties: {step: {type: 'string', enum: steps}, message: {type: 'string'}},
          },
          interrupted: {type: 'string', enum: steps},
        },
      },
    },
    gateway: {
      type: 'object',
      additionalProperties: false,
      properties: {
        address: {type: 'string', description: "The hub gateway LoadBalancer's external address."},
        endpoint: {type: 'string', description: 'The OTLP/gRPC endpoint the edges ship to (host:port).'},
      },
    },
    grafana: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'portForward', 'passwordCommand'],
      description: 'How to open Grafana; the password itself is never printed.',
      properties: {url: {type: 'string'}, portForward: {type: 'string'}, passwordCommand: {type: 'string'}},
    },
    verify: {...verifyReport, description: 'The verify report (as `fedobs verify --json --wait`); absent with --skip-verify or when an earlier step failed.'},
    failures: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['step', 'error'],
        properties: {
          step: {type: 'string', enum: steps},
          cluster: {type: 'string'},
          error: {type: 'object', required: ['message'], properties: {code: {type: 'string'}, message: {type: 'string'}, exitCode: {type: 'integer'}, hint: {type: 'string'}}},
        },
      },
    },
    warnings: {type: 'array', items: {type: 'string'}},
    localStacksKept: {
      type: 'array',
      description: 'Edges whose seed edge-local monitoring stack was kept (run with --yes to remove it).',
      items: {type: 'object', additionalProperties: false, required: ['edge', 'objects'], properties: {edge: {type: 'string'}, objects: {type: 'array', items: {type: 'string'}}}},
    },
    resume: {type: 'string', description: 'The command that continues the run (when ok is false).'},
  },
} as const
