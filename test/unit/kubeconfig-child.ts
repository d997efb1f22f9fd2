/**
 * A separate fedobs process for the kubeconfig lock tests, run from the source (node --import tsx).
 *
 *   merge <target> <cluster> <kubeconfig-file> <times>   merge that many times, then exit
 *   hold <target>                                        take the lock under the parent's control (IPC):
 *     sends {event: 'stale', owner} and waits for 'go' before taking over a stale lock,
 *     sends {event: 'busy', owner} once per live owner it waits on,
 *     sends {event: 'holding'} inside the lock and waits for 'release'.
 */
import {readFileSync} from 'node:fs'
import {mergeKubeconfig, withFileLock} from '../../src/kube/kubeconfig.js'

const [mode, target, ...rest] = process.argv.slice(2)

function nextMessage(expected: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      if (message !== expected) return
      process.off('message', listener)
      resolve()
    }
    process.on('message', listener)
  })
}

if (mode === 'merge') {
  const [cluster, file, times] = rest
  const text = readFileSync(file!, 'utf8')
  for (let i = 0; i < Number(times); i++) await mergeKubeconfig(target!, text, {cluster: cluster!})
} else if (mode === 'hold') {
  const send = (message: object) => process.send!(message)
  const busyOn = new Set<string>()
  await withFileLock(
    target!,
    async () => {
      send({event: 'holding'})
      await nextMessage('release')
    },
    {
      beforeTakeover: async (owner) => {
        send({event: 'stale', owner})
        await nextMessage('go')
      },
      onBusy: (owner) => {
        if (busyOn.has(owner)) return
        busyOn.add(owner)
        send({event: 'busy', owner})
      },
    },
  )
  process.disconnect()
} else {
  throw new Error(`kubeconfig-child: unknown mode ${mode}`)
}
