#!/usr/bin/env -S node --import tsx
// Development entry point: runs the TypeScript sources directly (npm run dev -- <command>).
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
