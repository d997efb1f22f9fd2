// Writes schema/<command>.schema.json from src/cli/schemas.ts (the JSON Schemas of every command's
// --json document). Run `npm run schemas` after changing a schema; test/cli/json-schemas.test.ts
// fails while a file differs from its schema.
import {writeFileSync} from 'node:fs'
import {commandSchemas} from '../src/cli/schemas.js'

for (const [name, schema] of Object.entries(commandSchemas)) {
  writeFileSync(new URL(`../schema/${name}.schema.json`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`)
}
