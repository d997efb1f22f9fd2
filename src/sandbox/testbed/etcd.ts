/** One etcd member on loopback, shared by every apiserver of a test bed (each under its own prefix). */
import {mkdirSync, rmSync} from 'node:fs'
import path from 'node:path'
import {freePort, GiveUp, probe, waitFor} from './net.js'
import {startProcess, type Managed} from './processes.js'

export interface Etcd {
  /** http://127.0.0.1:PORT, for --etcd-servers. */
  readonly url: string
  readonly process: Managed
}

export async function startEtcd(binary: string, dir: string, timeoutMs = 30_000): Promise<Etcd> {
  // A retry after a port clash starts from scratch.
  rmSync(path.join(dir, 'data'), {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const managed = startProcess(
    'etcd',
    binary,
    [
      '--name=node0',
      `--data-dir=${path.join(dir, 'data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=node0=${peerUrl}`,
      `--listen-metrics-urls=http://127.0.0.1:${metrics}`,
      // Test data: durability buys nothing and fsync is the slowest part of etcd on a shared disk.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    {logFile: path.join(dir, 'etcd.log')},
  )
  try {
    await waitFor(
      async () => {
        if (!managed.isRunning()) throw new GiveUp(`etcd exited:\n${managed.logTail()}`)
        return (await probe(`http://127.0.0.1:${metrics}/health`))?.status === 200
      },
      {timeoutMs, what: 'etcd /health'},
    )
  } catch (error) {
    await managed.stop()
    throw error
  }
  return {url, process: managed}
}
