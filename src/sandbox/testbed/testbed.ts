/**
 * A test bed: one etcd and any number of real Kubernetes control planes on loopback (kwok fakes the
 * nodes), each shaped like an LKE cluster. Every process runs in its own process group and dies with
 * the test bed, or with this process however it ends.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {testbedBinaries} from '../binaries.js'
import {startCluster, type Binaries, type ClusterOptions, type TestCluster} from './cluster.js'
import {startEtcd, type Etcd} from './etcd.js'
import {retryOnPortClash} from './net.js'
import {registerDir, releaseDir} from './processes.js'

export type {Binaries, ClusterOptions, TestCluster} from './cluster.js'
export type {NodeSpec} from './nodes.js'

export interface TestbedOptions {
  /** Binary paths; default: scripts/testbed/build.sh --print-env (FEDOBS_KUBE_APISERVER, ...). */
  binaries?: Partial<Binaries & {etcd: string}>
  /** Parent of the test bed's temporary directory (default: the OS temp dir). */
  tmpRoot?: string
  /** Keep the directory (logs, etcd data) after stop(). */
  keepDir?: boolean
  /** Per-cluster start-up bound (default 90 s: generous for 2 busy cores). */
  clusterTimeoutMs?: number
}

export interface Testbed {
  /** The test bed's directory: etcd/ and one directory per cluster, logs in each. */
  readonly dir: string
  readonly etcdUrl: string
  readonly clusters: ReadonlyMap<string, TestCluster>
  /** Start a cluster (apiserver, controller-manager, scheduler, kwok); several may start concurrently. */
  addCluster(options: ClusterOptions): Promise<TestCluster>
  /** Stop one cluster (its data stays in etcd under its prefix). */
  removeCluster(name: string): Promise<void>
  /** Resident memory of every process, MiB. */
  rssMiB(): number
  /** Process ids (= process group ids) of every running process: etcd and each cluster's. */
  pids(): number[]
  stop(): Promise<void>
}

/** The names requireBinaries() takes for a test that starts a test bed. */
export const TESTBED_BINARIES = ['FEDOBS_ETCD', 'FEDOBS_KUBE_APISERVER', 'FEDOBS_KUBE_CONTROLLER_MANAGER', 'FEDOBS_KUBE_SCHEDULER', 'FEDOBS_KWOK']

function resolveBinaries(given: TestbedOptions['binaries'] = {}): Binaries & {etcd: string} {
  const needed = {apiserver: 'FEDOBS_KUBE_APISERVER', controllerManager: 'FEDOBS_KUBE_CONTROLLER_MANAGER', scheduler: 'FEDOBS_KUBE_SCHEDULER', kwok: 'FEDOBS_KWOK', etcd: 'FEDOBS_ETCD'} as const
  const missing = Object.keys(needed).filter((k) => !given[k as keyof typeof needed])
  const env = missing.length > 0 ? testbedBinaries() : {}
  const resolved = {} as Binaries & {etcd: string}
  for (const [key, variable] of Object.entries(needed) as [keyof typeof needed, string][]) {
    const value = given[key] ?? process.env[variable] ?? env[variable]
    if (!value) throw new Error(`test bed: no ${variable} (run npm run testbed:build)`)
    resolved[key] = value
  }
  return resolved
}

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const binaries = resolveBinaries(options.binaries)
  const dir = mkdtempSync(path.join(options.tmpRoot ?? tmpdir(), 'fedobs-testbed-'))
  registerDir(dir)
  let etcd: Etcd
  try {
    etcd = await retryOnPortClash(() => startEtcd(binaries.etcd, path.join(dir, 'etcd')))
  } catch (error) {
    releaseDir(dir)
    throw error
  }
  const clusters = new Map<string, TestCluster>()
  const starting = new Map<string, Promise<TestCluster>>()
  let nextIndex = 1
  let stopped = false

  const stopCluster = async (cluster: TestCluster): Promise<void> => {
    clusters.delete(cluster.name)
    await cluster.stop()
  }

  return {
    dir,
    etcdUrl: etcd.url,
    clusters,
    async addCluster(clusterOptions) {
      if (stopped) throw new Error('test bed: already stopped')
      const {name} = clusterOptions
      if (clusters.has(name) || starting.has(name)) throw new Error(`test bed: a cluster named ${name} exists`)
      if (nextIndex > 250) throw new Error('test bed: out of 127.x address ranges')
      const context = {binaries, etcdUrl: etcd.url, dir: path.join(dir, name), index: nextIndex++, timeoutMs: options.clusterTimeoutMs ?? 90_000}
      const start = (async () => {
        const cluster = await retryOnPortClash(() => startCluster(clusterOptions, context))
        if (stopped) {
          await cluster.stop()
          throw new Error('test bed: stopped while the cluster was starting')
        }
        clusters.set(name, cluster)
        return cluster
      })()
      starting.set(name, start)
      try {
        return await start
      } finally {
        starting.delete(name)
      }
    },
    async removeCluster(name) {
      const cluster = clusters.get(name)
      if (cluster) await stopCluster(cluster)
    },
    rssMiB: () => [...clusters.values()].reduce((sum, c) => sum + c.rssMiB(), etcd.process.rssMiB()),
    pids: () => [etcd.process, ...[...clusters.values()].flatMap((c) => c.processes)].filter((p) => p.isRunning()).map((p) => p.pid),
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.allSettled(starting.values())
      await Promise.all([...clusters.values()].map(stopCluster))
      await etcd.process.stop()
      releaseDir(dir, {keep: options.keepDir ?? false})
    },
  }
}
