import {DEFAULTS, API_VERSIONS} from './defaults.js'

/**
 * JSON Schema (draft-07) of the federation file. `fedobs config schema` prints it and
 * schema/fedobs.schema.json is this, written out for editors.
 *
 * `x-expected` is a human phrase used in error messages; editors ignore it.
 */
const dnsName = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  'x-expected':
    'a name of 1-32 lowercase letters, digits and "-", starting and ending with a letter or digit (valid as a Linode LKE label and a Kubernetes label value)',
} as const

/**
 * host[:port]: an IPv4 address, a bracketed IPv6 address or a DNS name, port 1-65535; or a bare
 * IPv6 address (no port); optionally behind a scheme. Read by src/federation/endpoint.ts.
 */
export const ENDPOINT_PATTERN =
  '^([a-zA-Z][a-zA-Z0-9+.-]*://)?((([0-9]{1,3}\\.){3}[0-9]{1,3}|\\[[0-9a-fA-F:.]+\\]|([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\\.)*[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?|[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}(:([0-9]{1,3}\\.){3}[0-9]{1,3})?)/?$'

const duration = {
  type: 'string',
  pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$',
  'x-expected': 'a duration such as 30s, 15m, 12h, 15d or 1w',
} as const

const quantity = {
  type: 'string',
  pattern: '^[1-9][0-9]*(Mi|Gi|Ti)$',
  'x-expected': 'a storage size such as 512Mi, 20Gi or 1Ti',
} as const

const cidr = {
  type: 'string',
  pattern:
    '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/(3[0-2]|[12]?[0-9]))?$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?$',
  'x-expected': 'an IPv4 or IPv6 address or CIDR such as 203.0.113.0/24',
} as const

export const federationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/fedobs/fedobs/schema/fedobs.schema.json',
  title: 'fedobs federation file',
  description:
    'One federation: a hub LKE cluster that stores and shows telemetry, and edge clusters that ship theirs to it.',
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
    telemetry: {$ref: '#/definitions/telemetry'},
    inference: {$ref: '#/definitions/inference'},
    security: {$ref: '#/definitions/security'},
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
          default: DEFAULTS.k8sVersion,
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
          items: {type: 'string', minLength: 3, maxLength: 50, pattern: '^[^,\\s][^,]*$', 'x-expected': 'a tag of 3-50 characters without commas'},
          description: 'Extra Linode tags (fedobs adds fedobs, fedobs-federation:<name>, fedobs-role:<role> and fedobs-cluster:<name>).',
        },
        highAvailability: {type: 'boolean', default: false, description: 'HA control plane (irreversible on LKE).'},
        controlPlaneAcl: {
          type: 'array',
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
        retention: {...duration, default: DEFAULTS.telemetry.retention, description: 'Prometheus retention.'},
        scrapeInterval: {...duration, default: DEFAULTS.telemetry.scrapeInterval, description: 'Scrape and collection interval.'},
        outOfOrderWindow: {
          ...duration,
          default: DEFAULTS.telemetry.outOfOrderWindow,
          description: 'How old replayed samples Prometheus still accepts (after an outage, queues replay old data).',
        },
        storageClass: {
          type: 'string',
          minLength: 1,
          default: DEFAULTS.telemetry.storageClass,
          description: `StorageClass of every PVC. The default, ${DEFAULTS.telemetry.storageClass}, is rendered by fedobs (Linode block storage, Retain, volumes tagged for teardown).`,
        },
        storage: {
          type: 'object',
          additionalProperties: false,
          properties: {
            prometheus: {...quantity, default: DEFAULTS.telemetry.storage.prometheus},
            loki: {...quantity, default: DEFAULTS.telemetry.storage.loki},
            tempo: {...quantity, default: DEFAULTS.telemetry.storage.tempo},
            gatewayQueue: {...quantity, default: DEFAULTS.telemetry.storage.gatewayQueue, description: 'Persistent queue volume of each gateway replica.'},
          },
        },
        queue: {
          type: 'object',
          additionalProperties: false,
          properties: {
            size: {
              type: 'integer',
              minimum: 100,
              maximum: 1000000,
              default: DEFAULTS.telemetry.queue.size,
              description: 'Batches each gateway exporter queue holds on disk (and each agent in memory).',
            },
          },
        },
        gateway: {
          type: 'object',
          additionalProperties: false,
          properties: {
            replicas: {type: 'integer', minimum: 1, maximum: 50, default: DEFAULTS.telemetry.gateway.replicas},
            autoscaling: {
              type: 'object',
              additionalProperties: false,
              properties: {
                enabled: {type: 'boolean', default: DEFAULTS.telemetry.gateway.autoscaling.enabled},
                minReplicas: {type: 'integer', minimum: 1, maximum: 50, default: DEFAULTS.telemetry.gateway.autoscaling.minReplicas},
                maxReplicas: {type: 'integer', minimum: 1, maximum: 50, default: DEFAULTS.telemetry.gateway.autoscaling.maxReplicas},
                targetCPUUtilization: {
                  type: 'integer',
                  minimum: 10,
                  maximum: 100,
                  default: DEFAULTS.telemetry.gateway.autoscaling.targetCPUUtilization,
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
        enabled: {type: 'boolean', default: DEFAULTS.inference.enabled, description: 'Deploy the BERT inference demo on GPU clusters.'},
        image: {type: 'string', minLength: 1, pattern: '^[^\\s]+$', 'x-expected': 'a container image reference such as registry/name:tag'},
        replicas: {type: 'integer', minimum: 1, maximum: 100, default: DEFAULTS.inference.replicas},
        gpusPerReplica: {type: 'integer', minimum: 1, maximum: 8, default: DEFAULTS.inference.gpusPerReplica},
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
          default: DEFAULTS.security.mtls,
          description:
            'Mutual TLS (TLS 1.3) and a per-cluster identity between every collector and the hub gateway. false sends OTLP in plaintext to the internet: only for a trial, and fedobs warns on every render and deploy.',
        },
        certificates: {
          type: 'object',
          additionalProperties: false,
          properties: {
            validity: {...duration, default: DEFAULTS.security.certificates.validity, description: 'Lifetime of the gateway and client certificates fedobs issues.'},
            renewBefore: {
              ...duration,
              default: DEFAULTS.security.certificates.renewBefore,
              description: '`fedobs deploy` and `fedobs connect` re-issue a certificate that expires sooner than this.',
            },
          },
        },
        pii: {
          type: 'object',
          additionalProperties: false,
          description: 'Scrub personal data (e-mail addresses, US SSNs, card numbers, phone numbers) at every agent, before data leaves the cluster.',
          properties: {
            enabled: {type: 'boolean', default: DEFAULTS.security.pii.enabled},
            allowKeys: {
              type: 'array',
              items: {type: 'string', minLength: 1, 'x-expected': 'an attribute key such as user.id'},
              description: 'Attribute keys whose values are never scrubbed.',
            },
            patterns: {
              type: 'array',
              items: {$ref: '#/definitions/piiPattern'},
              description: 'Extra patterns to scrub, in RE2 syntax (the collector\'s).',
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
