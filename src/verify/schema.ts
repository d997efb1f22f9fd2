/** JSON Schema of `fedobs verify --json` (schema/verify.schema.json is this, written out). */
export const verifySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/fedobs/fedobs/schema/verify.schema.json',
  title: 'fedobs verify --json',
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'federation', 'checkedAt', 'queries', 'summary', 'groups'],
  properties: {
    ok: {type: 'boolean', description: 'No check failed (warnings allowed). The exit code is 0 exactly when this is true.'},
    federation: {type: 'string'},
    checkedAt: {type: 'string', format: 'date-time'},
    queries: {type: 'integer', minimum: 0, description: 'HTTP requests verify sent to Prometheus, Loki and Tempo (in the last round with --wait); the same for 1 or 100 clusters.'},
    attempts: {type: 'integer', minimum: 1, description: 'With --wait: how many rounds ran.'},
    summary: {
      type: 'object',
      additionalProperties: false,
      required: ['ok', 'warn', 'fail'],
      properties: {ok: {type: 'integer', minimum: 0}, warn: {type: 'integer', minimum: 0}, fail: {type: 'integer', minimum: 0}},
    },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'checks'],
        properties: {
          name: {type: 'string', enum: ['federation', 'identity', 'jobs', 'gateway', 'logs', 'traces', 'certificates']},
          checks: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'name', 'status', 'message'],
              properties: {
                id: {type: 'string'},
                name: {type: 'string'},
                status: {type: 'string', enum: ['ok', 'warn', 'fail']},
                message: {type: 'string'},
                hint: {type: 'string'},
                cluster: {type: 'string'},
              },
            },
          },
        },
      },
    },
  },
} as const
