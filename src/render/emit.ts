/**
 * The YAML emitter moved to src/lib/emit-yaml.ts (kube writes kubeconfigs with it too, and kube may
 * not import render). This re-export keeps test/telemetry/pipeline.ts and loopback.test.ts, which
 * were being changed on other branches when it moved, compiling; point them at the new path and
 * delete this file.
 */
export {emitYaml} from '../lib/emit-yaml.js'
