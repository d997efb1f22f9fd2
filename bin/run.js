#!/usr/bin/env node
// fedobs entry point. Decide colour before anything loads chalk (chalk reads FORCE_COLOR once).
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`fedobs needs Node.js 22 or newer; this is ${process.version}.\n`)
  process.exit(1)
}
const argv = process.argv.slice(2)
// A document on stdout (--json, -o json|yaml) is never coloured (src/lib/output.ts reads the same flags).
const documentAsked = argv.some((arg, i) => arg === '--json' || /^(?:--output=|-o=?)(?:json|yaml)$/.test(arg) || ((arg === '-o' || arg === '--output') && /^(?:json|yaml)$/.test(argv[i + 1] ?? '')))
if ((process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') || process.env.TERM === 'dumb' || argv.includes('--no-color') || documentAsked) {
  process.env.FORCE_COLOR = '0'
}

// --version answers without loading the framework: it is what scripts call most.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`fedobs/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
  process.exit(0)
}

await import('./compile-cache.js')
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
