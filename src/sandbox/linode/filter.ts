/**
 * X-Filter and pagination as the API applies them to a collection.
 *
 * A filter object ANDs its keys. `+and` / `+or` take lists of filters. A field maps to a value
 * (equality; on a list field such as `tags`: "contains") or to one operator object
 * (`+neq`, `+contains`, `+gt`, `+gte`, `+lt`, `+lte`). `+order_by` / `+order` sort. Only fields the
 * spec marks filterable may be used: anything else is a 400, as on the API.
 */
import {isObject, type Json, type JsonObject} from './openapi.js'

export class FilterError extends Error {}

const OPERATORS = new Set(['+neq', '+contains', '+gt', '+gte', '+lt', '+lte'])

export function applyFilter<T extends object>(items: T[], filter: JsonObject | undefined, filterable: ReadonlySet<string>): T[] {
  if (!filter) return items
  const kept = items.filter((item) => matches(item as unknown as JsonObject, filter, filterable))
  const orderBy = filter['+order_by']
  if (orderBy === undefined) return kept
  if (typeof orderBy !== 'string' || !filterable.has(orderBy)) throw new FilterError(`Cannot order by ${JSON.stringify(orderBy)}`)
  const sign = filter['+order'] === 'desc' ? -1 : 1
  return [...kept].sort((a, b) => sign * compare((a as Record<string, unknown>)[orderBy], (b as Record<string, unknown>)[orderBy]))
}

function matches(item: JsonObject, filter: JsonObject, filterable: ReadonlySet<string>): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === '+order_by' || key === '+order') return true
    if (key === '+and' || key === '+or') {
      if (!Array.isArray(condition) || !condition.every(isObject)) throw new FilterError(`${key} takes a list of filters`)
      const parts = condition
      return key === '+and' ? parts.every((f) => matches(item, f, filterable)) : parts.some((f) => matches(item, f, filterable))
    }
    if (key.startsWith('+')) throw new FilterError(`${key} is not valid here`)
    if (!filterable.has(key)) throw new FilterError(`Cannot filter on ${key}`)
    return fieldMatches(item[key], condition)
  })
}

function fieldMatches(value: Json | undefined, condition: Json): boolean {
  if (!isObject(condition)) return Array.isArray(value) ? value.some((v) => v === condition) : value === condition
  const entries = Object.entries(condition)
  if (entries.length !== 1 || !OPERATORS.has(entries[0]![0])) throw new FilterError(`a field takes a value or one of ${[...OPERATORS].join(', ')}`)
  const [op, operand] = entries[0]!
  switch (op) {
    case '+neq':
      return Array.isArray(value) ? !value.includes(operand) : value !== operand
    case '+contains': {
      const text = typeof operand === 'string' ? operand : JSON.stringify(operand)
      return Array.isArray(value) ? value.some((v) => typeof v === 'string' && v.includes(text)) : typeof value === 'string' && value.includes(text)
    }
    default: {
      if (typeof value !== 'number' || typeof operand !== 'number') return false
      return op === '+gt' ? value > operand : op === '+gte' ? value >= operand : op === '+lt' ? value < operand : value <= operand
    }
  }
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}

export interface Page<T> {
  data: T[]
  page: number
  pages: number
  results: number
}

/** `page` from 1, `page_size` 25..500 (checked against the spec before we get here), default 100. */
export function paginate<T>(items: T[], page = 1, pageSize = 100): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / pageSize))
  return {data: items.slice((page - 1) * pageSize, page * pageSize), page, pages, results: items.length}
}
