// TLS handshakes per edge per hour at steady state (measure and print; not a test).
//   node --import tsx scripts/bench-security.ts        (needs the test-bed binaries)
//
// The real pipeline of test/telemetry/pipeline.ts (rendered configs, mTLS on) with the edge's
// agent and scraper shipping to the gateway through a TCP relay that counts the connections they
// open: each one is a TLS handshake with the gateway. After a warm-up, every new connection in the
// measuring window counts; the window (BENCH_HANDSHAKE_MIN, default 12 minutes) spans at least one
// gRPC max connection age (10 m), after which the gateway closes a connection and the collector
// opens a new one — what bounds how long a revoked edge keeps an open connection.
//
// The gateway throughput with mTLS vs plaintext is in bench-telemetry.ts; the PII processor's cost in
// bench-pii.ts.
import {requireBinaries} from '../test/helpers/testbed.js'
import {sleep} from '../src/sandbox/telemetry/net.js'
import {startPipeline} from '../test/telemetry/pipeline.js'
import {TcpRelay} from '../test/telemetry/relay-tcp.js'
import {MAX_CONNECTION_AGE} from '../src/render/security.js'

const WINDOW_MIN = Number(process.env.BENCH_HANDSHAKE_MIN ?? 12)
const WARMUP_MS = 30_000

const binaries = requireBinaries(['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS'])
if (!binaries.ok) {
  console.error(`bench-security: test-bed binaries missing (${binaries.missing.join(', ')}): run npm run testbed:build`)
  process.exit(1)
}

let relay: TcpRelay | undefined
const pipeline = await startPipeline({
  otelcol: binaries.paths.FEDOBS_OTELCOL!,
  prometheus: binaries.paths.FEDOBS_PROMETHEUS!,
  scrapeInterval: '30s',
  edgeGatewayAddress: async (gateway) => (relay = await new TcpRelay(gateway).start()).address,
})
try {
  console.log(`fedobs security benchmark: ${new Date().toISOString()}, Node ${process.version}; scrape interval 30s, gRPC max connection age ${MAX_CONNECTION_AGE}`)
  const collectors = ['edge agent', 'edge scraper']
  await sleep(WARMUP_MS)
  const start = {connections: relay!.stats.connections, bytes: relay!.stats.bytesUp, at: Date.now()}
  const samples: string[] = []
  for (let minute = 1; minute <= WINDOW_MIN; minute++) {
    await sleep(60_000)
    samples.push(`${minute}m: ${relay!.stats.connections - start.connections}`)
  }
  const minutes = (Date.now() - start.at) / 60_000
  const handshakes = relay!.stats.connections - start.connections
  const perHour = (handshakes / minutes) * 60
  console.log(`\nTLS handshakes of one edge (${collectors.join(' + ')}, ${collectors.length} gRPC clients) at steady state`)
  console.log(`  before the window (start-up): ${start.connections} connection(s)`)
  console.log(`  in ${minutes.toFixed(1)} min: ${handshakes} new connection(s), each one TLS handshake  [cumulative per minute: ${samples.join(', ')}]`)
  console.log(
    `  => ${perHour.toFixed(1)} handshakes per edge per hour (${(perHour / collectors.length).toFixed(1)} per collector; ${((relay!.stats.bytesUp - start.bytes) / minutes / 1024).toFixed(0)} KiB/min sent)`,
  )
  console.log('  A real edge has one agent per node and one scraper: multiply the per-collector figure by (nodes + 1).')
} finally {
  await pipeline.stop()
  await relay?.close()
}
