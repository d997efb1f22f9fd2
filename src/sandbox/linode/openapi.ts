/**
 * OpenAPI 3.0 schema objects → JSON Schema (draft-07) that Ajv compiles.
 *
 * `direction` matters: a request never carries readOnly properties, a response never carries
 * writeOnly ones, so each is removed from `properties` and `required` on that side (with
 * additionalProperties: false, sending one is then an unknown field, as it should be).
 */

export type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
export type JsonObject = {[key: string]: Json}
export type Direction = 'request' | 'response'

export interface ConvertOptions {
  direction: Direction
  /**
   * Make every declared property required (the spec's response schemas require nothing, so `{}`
   * would pass for a cluster). Names in `optional` stay optional.
   */
  complete?: {optional: ReadonlySet<string>}
}

/** Keys that only document: dropped so Ajv's strict mode can flag anything we forgot to convert. */
const DROPPED = new Set(['example', 'examples', 'discriminator', 'xml', 'externalDocs'])

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Follow a local `#/a/b/c` reference in the document. */
export function resolvePointer(doc: JsonObject, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, not ${ref}`)
  let node: Json = doc
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isObject(node) || !(key in node)) throw new Error(`unresolvable $ref ${ref}`)
    node = node[key]!
  }
  return node
}

export function toJsonSchema(schema: Json, doc: JsonObject, options: ConvertOptions, seen: string[] = []): Json {
  if (Array.isArray(schema)) return schema.map((item) => toJsonSchema(item, doc, options, seen))
  if (!isObject(schema)) return schema
  if (typeof schema.$ref === 'string') {
    if (seen.includes(schema.$ref)) throw new Error(`recursive $ref ${schema.$ref} is not supported`)
    return toJsonSchema(resolvePointer(doc, schema.$ref), doc, options, [...seen, schema.$ref])
  }

  const out: JsonObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') || DROPPED.has(key) || key === 'nullable') continue
    if (key === 'properties' && isObject(value)) {
      out.properties = convertProperties(value, doc, options, seen)
    } else if (key === 'enum' || key === 'required' || key === 'default' || key === 'const') {
      out[key] = value
    } else {
      out[key] = toJsonSchema(value, doc, options, seen)
    }
  }
  if (options.complete && isObject(out.properties)) {
    const optional = options.complete.optional
    out.required = [...new Set([...(Array.isArray(out.required) ? out.required : []), ...Object.keys(out.properties).filter((name) => !optional.has(name))])]
  }

  if (isObject(out.properties) && Array.isArray(out.required)) {
    const kept = out.properties
    out.required = out.required.filter((name) => typeof name === 'string' && name in kept)
    if (out.required.length === 0) delete out.required
  }
  return schema.nullable === true ? makeNullable(out) : out
}

function convertProperties(properties: JsonObject, doc: JsonObject, options: ConvertOptions, seen: string[]): JsonObject {
  const {direction} = options
  const out: JsonObject = {}
  for (const [name, raw] of Object.entries(properties)) {
    const property = isObject(raw) && typeof raw.$ref === 'string' ? resolvePointer(doc, raw.$ref) : raw
    if (isObject(property)) {
      if (direction === 'request' && property.readOnly === true) continue
      if (direction === 'response' && property.writeOnly === true) continue
    }
    out[name] = toJsonSchema(raw, doc, options, seen)
  }
  return out
}

/** OpenAPI 3.0 `nullable: true` → JSON Schema: "null" joins the type (and the enum, if any). */
function makeNullable(schema: JsonObject): JsonObject {
  if (typeof schema.type === 'string') {
    const nullable: JsonObject = {...schema, type: [schema.type, 'null']}
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) nullable.enum = [...schema.enum, null]
    return nullable
  }
  if (Array.isArray(schema.type)) return schema.type.includes('null') ? schema : {...schema, type: [...schema.type, 'null']}
  return {anyOf: [schema, {type: 'null'}]}
}
