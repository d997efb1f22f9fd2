import {DURATION_PATTERN} from '../lib/time.js'

/**
 * JSON Schema (draft-07) of the federation file: the one place its shape lives. `fedobs config schema`
 * prints it and schema/fedobs.schema.json is this, written out for editors.
 *
 * - Types: model.ts derives the TypeScript types from this object (json-schema-to-ts `FromSchema`), so a
 *   field added here is typed everywhere with nothing else to edit.
 * - Defaults: the `default` keywords are the defaults; Ajv fills them in while it validates (load.ts,
 *   `useDefaults`). A nested object gets `default: {}` so that its own fields' defaults apply when the
 *   whole object is left out; a list gets `default: []`. A field with a default is required in the types.
 * - `x-expected` is a human phrase used in error messages; editors ignore it.
 */
export const API_VERSIONS = ['fedobs/v1'] as const

const dnsName = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  'x-expected': 'a name of 1-32 lowercase letters, digits and "-", starting and ending with a letter or digit (valid as a Linode LKE label and a Kubernetes label value)',
} as const

/**
 * host[:port]: an IPv4 address, a bracketed IPv6 address or a DNS name, port 1-65535; or a bare
 * IPv6 address (no port); optionally behind a scheme. Read by src/federation/endpoint.ts.
 */
export const ENDPOINT_PATTERN =
  '^([a-zA-Z][a-zA-Z0-9+.-]*://)?((([0-9]{1,3}\\.){3}[0-9]{1,3}|\\[[0-9a-fA-F:.]+\\]|([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\\.)*[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?|[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}(:([0-9]{1,3}\\.){3}[0-9]{1,3})?)/?$'

const duration = {
  type: 'string',
  pattern: DURATION_PATTERN,
  'x-expected': 'a duration such as 30s, 15m, 12h, 15d or 1w',
} as const

const quantity = {
  type: 'string',
  pattern: '^[1-9][0-9]*(Mi|Gi|Ti)$',
  'x-expected': 'a storage size such as 512Mi, 20Gi or 1Ti',
} as const

const cidr = {
  type: 'string',
  pattern: '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/(3[0-2]|[12]?[0-9]))?$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?$',
  'x-expected': 'an IPv4 or IPv6 address or CIDR such as 203.0.113.0/24',
} as const

export const federationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/fedobs/fedobs/schema/fedobs.schema.json',
  title: 'fedobs federation file',
  description: 'One federation: a hub LKE cluster that stores and shows telemetry, and edge clusters that ship theirs to it.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'name', 'hub'],
  properties: {
    $schema: {type: 'string', description: 'Optional: the schema URL for editors.'},
    apiVersion: {type: 'string', enum: [...API_VERSIONS], description: 'Version of this file format.'},
    kind: {type: 'string', enum: ['Federation'], description: 'Optional; always Federation.'},
    name: {...dnsName, description: 'Name of the federation; used in tags and labels.'},
    hub: {$ref: '#/definitions/cluster', description: 'The hub cluster: gateway, Prometheus, Loki, Tempo, Grafana.'},
    edges: {
      type: 'array',
      items: {$ref: '#/definitions/cluster'},
      default: [],
      description: 'Edge clusters that ship telemetry to the hub.',
    },
    telemetry: {$ref: '#/definitions/telemetry', default: {}},
    inference: {$ref: '#/definitions/inference', default: {}},
    security: {$ref: '#/definitions/security', default: {}},
  },
  definitions: {
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: {...dnsName, description: 'LKE cluster label; also the cluster.id every signal carries.'},
        region: {
          type: 'string',
          pattern: '^[a-z]{2}-[a-z]+(-[0-9]+)?$',
          'x-expected': 'a Linode region id such as us-ord, us-east, eu-central or ap-south',
          description: 'Linode region id (checked against the API at create time).',
        },
        k8sVersion: {
          type: 'string',
          pattern: '^1\\.[0-9]{1,2}$',
          default: '1.33',
          'x-expected': 'a Kubernetes minor version as a string, such as "1.33"',
          description: 'LKE Kubernetes version, <major>.<minor>.',
        },
        pools: {
          type: 'array',
          minItems: 1,
          items: {$ref: '#/definitions/pool'},
          description: 'Node pools. GPU plans (types containing "gpu") get the NVIDIA stack.',
        },
        tags: {
          type: 'array',
          default: [],
          items: {type: 'string', minLength: 3, maxLength: 50, pattern: '^[^,\\s][^,]*$', 'x-expected': 'a tag of 3-50 characters without commas'},
          description: 'Extra Linode tags (fedobs adds fedobs, fedobs-federation:<name>, fedobs-role:<role> and fedobs-cluster:<name>).',
        },
        highAvailability: {type: 'boolean', default: false, description: 'HA control plane (irreversible on LKE).'},
        controlPlaneAcl: {
          type: 'array',
          default: [],
          items: cidr,
          description: 'Addresses allowed to reach the control plane; enables the LKE control-plane ACL.',
        },
        gpu: {type: 'boolean', description: 'Override GPU detection from pool types.'},
        context: {type: 'string', minLength: 1, description: 'kubeconfig context to use instead of the one fedobs created.'},
      },
    },
    pool: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'count'],
      properties: {
        type: {
          type: 'string',
          pattern: '^g[0-9]+[a-z]*-[a-z0-9-]+$',
          'x-expected': 'a Linode plan id such as g6-standard-4 or g2-gpu-rtx4000a1-s',
          description: 'Linode plan (type) id.',
        },
        count: {type: 'integer', minimum: 1, maximum: 100, description: 'Number of nodes.'},
        autoscaler: {
          type: 'object',
          additionalProperties: false,
          required: ['min', 'max'],
          properties: {
            min: {type: 'integer', minimum: 1, maximum: 100},
            max: {type: 'integer', minimum: 1, maximum: 100},
          },
          description: 'Enable the LKE autoscaler between min and max nodes.',
        },
      },
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retention: {...duration, default: '15d', description: 'Prometheus retention.'},
        scrapeInterval: {...duration, default: '30s', description: 'Scrape and collection interval.'},
        outOfOrderWindow: {
          ...duration,
          default: '2d',
          description:
            'How old replayed samples Prometheus still accepts. After an outage the edges replay their queues; what is older than this (the start of a longer outage) is refused, so set it at least as long as the outages to survive.',
        },
        storageClass: {
          type: 'string',
          minLength: 1,
          default: 'fedobs-block-storage',
          description: `StorageClass of every PVC. The default, fedobs-block-storage, is rendered by fedobs (Linode block storage, Retain, volumes tagged for teardown).`,
        },
        storage: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            prometheus: {...quantity, default: '50Gi'},
            loki: {...quantity, default: '20Gi'},
            tempo: {...quantity, default: '20Gi'},
            gatewayQueue: {...quantity, default: '10Gi', description: 'Persistent queue volume of each gateway replica.'},
            agentQueue: {
              ...quantity,
              default: '1Gi',
              description:
                'Disk budget of each persistent sending queue of the agents and scrapers (one per signal: an agent holds up to 3 of them on its node, a scraper 1 on its volume). When a queue is full during an outage, new data is refused and the oldest kept.',
            },
          },
        },
        queue: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            size: {
              type: 'integer',
              minimum: 100,
              maximum: 1000000,
              default: 5000,
              description: 'Batches each gateway exporter queue holds on disk (agents and scrapers are bounded by storage.agentQueue).',
            },
          },
        },
        gateway: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            replicas: {type: 'integer', minimum: 1, maximum: 50, default: 2},
            autoscaling: {
              type: 'object',
              additionalProperties: false,
              default: {},
              properties: {
                enabled: {type: 'boolean', default: true},
                minReplicas: {type: 'integer', minimum: 1, maximum: 50, default: 2},
                maxReplicas: {type: 'integer', minimum: 1, maximum: 50, default: 6},
                targetCPUUtilization: {
                  type: 'integer',
                  minimum: 10,
                  maximum: 100,
                  default: 70,
                },
              },
            },
            endpoint: {
              type: 'string',
              pattern: ENDPOINT_PATTERN,
              'x-expected': 'host:port of the hub gateway, such as 203.0.113.7:4317, [2001:db8::1]:4317 or otel.example.com:4317',
              description: 'Fixed address edges send to (a DNS name in front of the gateway). Default: discovered from the LoadBalancer.',
            },
            allowedSources: {
              type: 'array',
              default: [],
              items: cidr,
              description: 'Source addresses allowed to reach the gateway LoadBalancer (a Linode Cloud Firewall). Empty: open.',
            },
          },
        },
      },
    },
    inference: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: {type: 'boolean', default: false, description: 'Deploy the BERT inference demo on GPU clusters.'},
        image: {type: 'string', minLength: 1, pattern: '^[^\\s]+$', 'x-expected': 'a container image reference such as registry/name:tag'},
        replicas: {type: 'integer', minimum: 1, maximum: 100, default: 1},
        gpusPerReplica: {type: 'integer', minimum: 1, maximum: 8, default: 1},
      },
      if: {properties: {enabled: {const: true}}, required: ['enabled']},
      then: {required: ['image']},
    },
    security: {
      type: 'object',
      additionalProperties: false,
      description: 'How the federation protects its telemetry. Everything is on by default.',
      properties: {
        mtls: {
          type: 'boolean',
          default: true,
          description:
            'Mutual TLS (TLS 1.3) and a per-cluster identity between every collector and the hub gateway. false sends OTLP in plaintext to the internet: only for a trial, and fedobs warns on every render and deploy.',
        },
        certificates: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            validity: {...duration, default: '90d', description: 'Lifetime of the gateway and client certificates fedobs issues.'},
            renewBefore: {
              ...duration,
              default: '30d',
              description: '`fedobs deploy` and `fedobs connect` re-issue a certificate that expires sooner than this.',
            },
          },
        },
        pii: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Scrub personal data (e-mail addresses, US SSNs, card numbers, phone numbers) at every agent, before data leaves the cluster.',
          properties: {
            enabled: {type: 'boolean', default: true},
            allowKeys: {
              type: 'array',
              default: [],
              items: {type: 'string', minLength: 1, 'x-expected': 'an attribute key such as user.id'},
              description: 'Attribute keys whose values are never scrubbed.',
            },
            patterns: {
              type: 'array',
              default: [],
              items: {$ref: '#/definitions/piiPattern'},
              description: "Extra patterns to scrub, in RE2 syntax (the collector's).",
            },
          },
        },
      },
    },
    piiPattern: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'regex'],
      properties: {
        name: {...dnsName, description: 'Name of the pattern; the default replacement is [REDACTED:<name>].'},
        regex: {type: 'string', minLength: 1, 'x-expected': 'a regular expression in RE2 syntax, such as EMP-[0-9]{6}'},
        replacement: {type: 'string', description: 'What replaces a match (default [REDACTED:<name>]).'},
      },
    },
  },
} as const
