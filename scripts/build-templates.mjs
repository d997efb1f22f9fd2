#!/usr/bin/env node
// Part of `npm run build` (after tsc): parse every template under templates/ with the renderer's
// own parser (dist/render/template.js) and write dist/templates.json, keyed by the hash of each
// template's text. loadTemplate takes a template from it only when the text is unchanged, so an
// edited template is never served stale; one that JSON cannot carry exactly is left out.
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {isDeepStrictEqual} from 'node:util'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const {parseTemplateText, templateHash} = await import(`${root}dist/render/template.js`)

const templates = {}
let count = 0
for (const entry of readdirSync(path.join(root, 'templates'), {recursive: true, withFileTypes: true})) {
  if (!entry.isFile() || !entry.name.endsWith('.yaml')) continue
  const file = path.join(entry.parentPath, entry.name)
  const text = readFileSync(file, 'utf8')
  const docs = parseTemplateText(text, file)
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(docs)), docs)) {
    console.error(`build-templates: ${path.relative(root, file)} does not survive JSON; it is parsed at run time`)
    continue
  }
  templates[templateHash(text)] = docs
  count++
}
writeFileSync(path.join(root, 'dist', 'templates.json'), JSON.stringify({templates}))
console.error(`build-templates: ${count} templates -> dist/templates.json`)
