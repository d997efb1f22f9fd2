// Writes dashboards/<name>.json from the typed sources in dashboards/src (Grafana's foundation
// SDK), and removes any other dashboards/*.json. Run `npm run dashboards` after changing a
// dashboard; test/unit/dashboards-generated.test.ts fails while a file differs from its source.
import {readdirSync, rmSync, writeFileSync} from 'node:fs'
import {DASHBOARDS, dashboardText} from '../dashboards/src/index.js'

const dir = new URL('../dashboards/', import.meta.url)
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && !(f in DASHBOARDS))) rmSync(new URL(file, dir))
for (const [file, build] of Object.entries(DASHBOARDS)) writeFileSync(new URL(file, dir), dashboardText(build))
