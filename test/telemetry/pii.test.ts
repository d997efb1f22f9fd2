import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {SecuritySpec} from '../../src/federation/model.js'
import {re2Problem} from '../../src/federation/re2.js'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {IDENTITY_KEYS, piiProcessor} from '../../src/render/pii.js'
import {ACCEPTED, FLAGGED, REJECTED} from '../helpers/re2-patterns.js'
import {requireBinaries} from '../helpers/testbed.js'
import {freePorts, httpOk, LOOPBACK, waitFor} from '../../src/sandbox/telemetry/net.js'
import {anyValueText, attributeMap, attributes, postOtlpJson, randomHex, type AnyValue, type KeyValue, type LogRecord, type Span} from '../../src/sandbox/telemetry/otlp.js'
import {emptyTally, figures, PiiCorpus, scoreValue, textOf, type CorpusRecord, type Tally} from './pii-corpus.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

/**
 * PII scrubbing measured on the real collector: the processor piiProcessor renders for the agents,
 * between an OTLP/HTTP receiver and file exporters, fed a labelled corpus that @faker-js/faker
 * generates from a fixed seed. What comes out is compared with what went in, slot by slot.
 */
const binaries = requireBinaries(['FEDOBS_OTELCOL'])
const run = promisify(execFile)

const SEED = 20261128
const CORPUS_RECORDS = 3000
const TARGET = 0.99

/** security.pii by default: on, no allowKeys, no extra patterns. */
const DEFAULTS: SecuritySpec['pii'] = {enabled: true, allowKeys: [], patterns: []}

/** The federation file's security.pii as a user would write it, with allowKeys and extra patterns. */
const PII: SecuritySpec['pii'] = {
  enabled: true,
  allowKeys: ['support.email', 'billing.phone'],
  patterns: [
    {name: 'employee-id', regex: 'EMP-[0-9]{6}'},
    {name: 'ticket', regex: '(?i)(ticket)-[0-9]{5}', replacement: '${1}-xxxxx'},
  ],
}

describe('piiProcessor', () => {
  it('renders nothing when PII scrubbing is disabled', () => {
    expect(piiProcessor({...PII, enabled: false})).toBeUndefined()
  })

  it('renders transform/pii, which needs the OTTL lambda feature gate', () => {
    const processor = piiProcessor(PII)!
    expect(processor.name).toBe('transform/pii')
    expect(processor.featureGates).toEqual(['ottl.functions.enableLambda'])
    expect(processor.config).toMatchObject({error_mode: 'ignore'})
    expect(Object.keys(processor.config).sort()).toEqual(['error_mode', 'log_statements', 'trace_statements'])
  })

  it('escapes every $ for the collector configuration ($$)', () => {
    const statements = JSON.stringify(piiProcessor(PII)!.config)
    expect(statements).toContain('$${1}-xxxxx')
    expect(statements.replaceAll('$$', '')).not.toContain('$')
  })
})

interface Collector {
  process: ManagedProcess
  otlp: string
  config: string
  logsFile: string
  tracesFile: string
}

describe.skipIf(!binaries.ok)('PII scrubbing on the real collector', () => {
  const otelcol = binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : ''
  let dir: string
  /** One collector with the default settings, one with allowKeys and extra patterns. */
  const collectors: Record<'defaults' | 'custom', Collector> = {} as Record<'defaults' | 'custom', Collector>
  let corpus: CorpusRecord[]
  const tallies: Record<'defaults' | 'custom', Tally> = {} as Record<'defaults' | 'custom', Tally>

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-pii-'))
    ;[collectors.defaults, collectors.custom] = await Promise.all([startCollector(dir, otelcol, 'defaults', DEFAULTS), startCollector(dir, otelcol, 'custom', PII)])
    corpus = new PiiCorpus(SEED).records(CORPUS_RECORDS)
    ;[tallies.defaults, tallies.custom] = await Promise.all([scoreCorpus(collectors.defaults, corpus), scoreCorpus(collectors.custom, corpus)])
  }, 120_000)

  afterAll(async () => {
    await Promise.all(Object.values(collectors).map((c) => c.process.stop()))
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it(`reaches precision and recall >= ${TARGET} per kind and overall on the faker corpus`, () => {
    printFigures(tallies.defaults, tallies.custom)
    for (const [settings, tally] of Object.entries(tallies)) {
      const {perKind, overall} = figures(tally)
      expect(tally.damagedValues, tally.falsePositives.join('\n')).toBe(0)
      for (const f of [...perKind, overall]) {
        expect(f.items, f.kind).toBeGreaterThan(500)
        expect(f.recall, `${settings}: ${f.kind} recall; misses:\n${tally.misses.join('\n')}`).toBeGreaterThanOrEqual(TARGET)
        expect(f.precision, `${settings}: ${f.kind} precision; false positives:\n${tally.falsePositives.join('\n')}`).toBeGreaterThanOrEqual(TARGET)
      }
    }
  })

  it('leaves the look-alikes alone (timestamps, IPs, UUIDs, order numbers, non-Luhn ids, versions ...)', () => {
    const {lookalikes} = tallies.defaults
    const all = Object.values(lookalikes)
    const survived = all.reduce((n, c) => n + c.survived, 0) / all.reduce((n, c) => n + c.total, 0)
    expect(lookalikes['non-Luhn 16-digit id']!.total).toBeGreaterThan(500)
    expect(lookalikes['non-Luhn 16-digit id']!.survived).toBe(lookalikes['non-Luhn 16-digit id']!.total)
    expect(survived).toBeGreaterThanOrEqual(TARGET)
  })

  it('runs every statement without an error', () => {
    for (const c of Object.values(collectors)) expect(c.process.logSinceStart()).not.toMatch(/failed to execute statement|"level":"error"|\terror\t/)
  })

  it.each(['defaults', 'custom'] as const)('never touches the identity keys fedobs relies on, while the same values under other keys go (%s)', async (settings) => {
    const collector = collectors[settings]
    const card = '4111 1111 1111 1111'
    const resource = {
      'cluster.id': `edge ${card}`,
      'cluster.role': 'edge ops@example.com',
      'service.name': 'mailer noreply@example.com',
      'k8s.pod.name': `checkout-${card.replaceAll(' ', '')}`,
      'k8s.namespace.name': 'call 202-555-0143',
      'host.name': 'node 202-555-0143',
      owner: 'noreply@example.com',
    }
    const logAttributes = {
      'test.case': 'identity',
      'log.file.path': `/var/log/pods/shop_checkout-${card.replaceAll(' ', '')}_3f1c/app/0.log`,
      'log.iostream': 'stdout',
      'hub.received_at': 'otel-gateway-0 123-45-6789',
      'user.card': card,
    }
    await sendLogs(collector, resource, [{body: {stringValue: 'identity check'}, attributes: attributes(logAttributes)}])
    const [out] = await logsOf(collector, 'identity', 1)
    const outResource = attributeMap(out!.resource)
    const outAttributes = attributeMap(out!.attributes)
    for (const key of ['cluster.id', 'cluster.role', 'service.name', 'k8s.pod.name', 'k8s.namespace.name', 'host.name'] as const) {
      expect(outResource[key], key).toBe(resource[key])
    }
    for (const key of ['log.file.path', 'log.iostream', 'hub.received_at'] as const) expect(outAttributes[key], key).toBe(logAttributes[key])
    expect(outResource.owner).toBe('[REDACTED:email]')
    expect(outAttributes['user.card']).toBe('[REDACTED:card]')
    expect(IDENTITY_KEYS).toEqual(expect.arrayContaining(['cluster.id', 'cluster.role', 'hub.received_at', 'service.name']))
  })

  it('leaves the values of allowKeys alone', async () => {
    const collector = collectors.custom
    const values = {'test.case': 'allow', 'support.email': 'help@shop.example.com', 'billing.phone': '+1 202-555-0143', 'contact.email': 'help@shop.example.com', 'contact.phone': '+1 202-555-0143'}
    await sendLogs(collector, {}, [{body: {stringValue: 'allow keys'}, attributes: attributes(values)}])
    const [out] = await logsOf(collector, 'allow', 1)
    expect(attributeMap(out!.attributes)).toMatchObject({
      'support.email': 'help@shop.example.com',
      'billing.phone': '+1 202-555-0143',
      'contact.email': '[REDACTED:email]',
      'contact.phone': '[REDACTED:phone]',
    })
  })

  it('applies the extra patterns of the federation file, with their replacements', async () => {
    const collector = collectors.custom
    const body = 'employee EMP-123456 filed Ticket-12345 from jane@example.com; EMP-12345 is too short'
    await sendLogs(collector, {}, [{body: {stringValue: body}, attributes: attributes({'test.case': 'patterns', note: 'by EMP-654321'})}])
    const [out] = await logsOf(collector, 'patterns', 1)
    expect(anyValueText(out!.body)).toBe('employee [REDACTED:employee-id] filed Ticket-xxxxx from [REDACTED:email]; EMP-12345 is too short')
    expect(attributeMap(out!.attributes).note).toBe('by [REDACTED:employee-id]')
  })

  it.each(['defaults', 'custom'] as const)('scrubs the top-level string values of a map body, not its identity or allowed keys (%s)', async (settings) => {
    const collector = collectors[settings]
    const body: AnyValue = {
      kvlistValue: {
        values: [
          {key: 'msg', value: {stringValue: 'refund to 4111-1111-1111-1111, order 4111-1111-1111-1112'}},
          {key: 'k8s.pod.name', value: {stringValue: 'refund-4111111111111111'}},
          {key: 'support.email', value: {stringValue: 'help@shop.example.com'}},
          {key: 'customer', value: {stringValue: 'jane@example.com'}},
          {key: 'customer.ssn', value: {stringValue: '123456789'}},
          {key: 'attempt', value: {intValue: '3'}},
        ],
      },
    }
    await sendLogs(collector, {}, [{body, attributes: attributes({'test.case': 'map-body'})}])
    const [out] = await logsOf(collector, 'map-body', 1)
    const values = Object.fromEntries((out!.body as {kvlistValue: {values: KeyValue[]}}).kvlistValue.values.map((kv) => [kv.key, anyValueText(kv.value)]))
    expect(values).toEqual({
      msg: 'refund to [REDACTED:card], order 4111-1111-1111-1112',
      'k8s.pod.name': 'refund-4111111111111111',
      'support.email': settings === 'custom' ? 'help@shop.example.com' : '[REDACTED:email]',
      customer: '[REDACTED:email]',
      'customer.ssn': '[REDACTED:ssn]',
      attempt: '3',
    })
  })

  it('scrubs span, span event and resource attributes in traces', async () => {
    const collector = collectors.defaults
    const traceId = randomHex(16)
    const span: Span = {
      traceId,
      spanId: randomHex(8),
      name: 'POST /checkout',
      kind: 2,
      startTimeUnixNano: '1718450000000000000',
      endTimeUnixNano: '1718450000100000000',
      attributes: attributes({'enduser.id': 'jane@example.com', 'payment.card': '5555555555554444', 'order.id': '5555555555554445', 'k8s.pod.name': 'checkout-5555555555554444'}),
      events: [{name: 'exception', timeUnixNano: '1718450000050000000', attributes: attributes({'exception.message': 'SMS to (202) 555-0143 failed, SSN 123-45-6789'})}],
    }
    await postOtlpJson(`${collector.otlp}/v1/traces`, {resourceSpans: [{resource: {attributes: attributes({'service.name': 'checkout', owner: 'ops@example.com'})}, scopeSpans: [{spans: [span]}]}]})
    const out = await waitFor('the span in the traces file', () => spansOf(collector).find((s) => s.span.traceId === traceId))
    expect(attributeMap(out.span.attributes)).toEqual({
      'enduser.id': '[REDACTED:email]',
      'payment.card': '[REDACTED:card]',
      'order.id': '5555555555554445',
      'k8s.pod.name': 'checkout-5555555555554444',
    })
    expect(attributeMap(out.span.events![0]!.attributes)['exception.message']).toBe('SMS to [REDACTED:phone] failed, SSN [REDACTED:ssn]')
    expect(attributeMap(out.resource)).toEqual({'service.name': 'checkout', owner: '[REDACTED:email]'})
  })

  it('agrees with the collector on which extra patterns are valid RE2 (re2Problem)', async () => {
    const validate = async (patterns: string[]): Promise<string> => {
      const pii: SecuritySpec['pii'] = {enabled: true, allowKeys: [], patterns: patterns.map((regex, i) => ({name: `p${i}`, regex}))}
      const file = path.join(mkdtempSync(path.join(dir, 'validate-')), 'config.yaml')
      const processor = piiProcessor(pii)!
      writeFileSync(
        file,
        emitYaml({
          receivers: {otlp: {protocols: {http: {}}}},
          processors: {[processor.name]: processor.config},
          exporters: {debug: {}},
          service: {pipelines: {logs: {receivers: ['otlp'], processors: [processor.name], exporters: ['debug']}}},
        }),
      )
      return run(otelcol, ['validate', `--config=${file}`, `--feature-gates=${processor.featureGates.join(',')}`]).then(
        () => '',
        (error: unknown) => (error as {stderr?: string}).stderr ?? (error instanceof Error ? error.message : String(error)),
      )
    }
    const goodOnes = [...ACCEPTED, ...FLAGGED.map(([pattern]) => pattern)]
    expect(await validate(goodOnes)).toBe('')
    const rejected: string[] = []
    for (let i = 0; i < REJECTED.length; i += 6) {
      const batch = REJECTED.slice(i, i + 6).map(([pattern]) => pattern)
      const results = await Promise.all(batch.map((pattern) => validate([pattern])))
      results.forEach((stderr, j) => stderr.includes('error parsing regexp') && rejected.push(batch[j]!))
    }
    expect(rejected).toEqual(REJECTED.map(([pattern]) => pattern))
    expect(REJECTED.every(([pattern]) => re2Problem(pattern) !== undefined)).toBe(true)
  }, 120_000)

  it('needs the lambda feature gate: otelcol validate fails without it', async () => {
    const file = collectors.defaults.config
    const processor = piiProcessor(DEFAULTS)!
    await expect(run(otelcol, ['validate', `--config=${file}`])).rejects.toMatchObject({stderr: expect.stringContaining('ottl.functions.enableLambda')})
    await expect(run(otelcol, ['validate', `--config=${file}`, `--feature-gates=${processor.featureGates.join(',')}`])).resolves.toBeDefined()
  })
})

// ---------------------------------------------------------------- the collector under test

async function startCollector(dir: string, otelcol: string, name: string, pii: SecuritySpec['pii']): Promise<Collector> {
  const processor = piiProcessor(pii)!
  const [http, health] = (await freePorts(2)) as [number, number]
  const logsFile = path.join(dir, `${name}-logs.json`)
  const tracesFile = path.join(dir, `${name}-traces.json`)
  const config = {
    extensions: {health_check: {endpoint: `${LOOPBACK}:${health}`}},
    receivers: {otlp: {protocols: {http: {endpoint: `${LOOPBACK}:${http}`}}}},
    processors: {[processor.name]: processor.config},
    exporters: {
      'file/logs': {path: logsFile, format: 'json', flush_interval: '100ms'},
      'file/traces': {path: tracesFile, format: 'json', flush_interval: '100ms'},
    },
    service: {
      extensions: ['health_check'],
      telemetry: {metrics: {level: 'none'}},
      pipelines: {
        logs: {receivers: ['otlp'], processors: [processor.name], exporters: ['file/logs']},
        traces: {receivers: ['otlp'], processors: [processor.name], exporters: ['file/traces']},
      },
    },
  }
  const file = path.join(dir, `${name}.yaml`)
  writeFileSync(file, emitYaml(config))
  const process = new ManagedProcess({
    name: `otelcol-pii-${name}`,
    command: otelcol,
    args: [`--config=${file}`, `--feature-gates=${processor.featureGates.join(',')}`],
    logFile: path.join(dir, `${name}.log`),
    ready: () => httpOk(`http://${LOOPBACK}:${health}/`),
  })
  await process.start()
  return {process, otlp: `http://${LOOPBACK}:${http}`, config: file, logsFile, tracesFile}
}

async function sendLogs(collector: Collector, resource: Record<string, string>, records: LogRecord[]): Promise<void> {
  await postOtlpJson(`${collector.otlp}/v1/logs`, {resourceLogs: [{resource: {attributes: attributes(resource)}, scopeLogs: [{scope: {name: 'fedobs-pii-test'}, logRecords: records}]}]})
}

type OutputRecord = LogRecord & {resource: KeyValue[]}

/** Every log record the file exporter wrote so far, with its resource's attributes. */
function allLogs(collector: Collector): OutputRecord[] {
  if (!existsSync(collector.logsFile)) return []
  const lines = readFileSync(collector.logsFile, 'utf8').split('\n').filter(Boolean)
  return lines.flatMap((line) =>
    (JSON.parse(line).resourceLogs as Array<{resource?: {attributes?: KeyValue[]}; scopeLogs: Array<{logRecords?: LogRecord[]}>}>).flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) => (sl.logRecords ?? []).map((r) => ({...r, resource: rl.resource?.attributes ?? []}))),
    ),
  )
}

function logsOf(collector: Collector, testCase: string, count: number): Promise<OutputRecord[]> {
  return waitFor(
    `${count} record(s) of ${testCase} in the logs file`,
    () => {
      const found = allLogs(collector).filter((r) => attributeMap(r.attributes)['test.case'] === testCase)
      return found.length >= count ? found : undefined
    },
    {timeoutMs: 15_000, intervalMs: 100},
  )
}

function spansOf(collector: Collector): Array<{span: Span; resource: KeyValue[]}> {
  if (!existsSync(collector.tracesFile)) return []
  const lines = readFileSync(collector.tracesFile, 'utf8').split('\n').filter(Boolean)
  return lines.flatMap((line) =>
    (JSON.parse(line).resourceSpans as Array<{resource?: {attributes?: KeyValue[]}; scopeSpans: Array<{spans?: Span[]}>}>).flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => (ss.spans ?? []).map((span) => ({span, resource: rs.resource?.attributes ?? []}))),
    ),
  )
}

// ---------------------------------------------------------------- the corpus, in and out

const INDEX_KEY = 'corpus.index'

async function scoreCorpus(collector: Collector, corpus: CorpusRecord[]): Promise<Tally> {
  const records: LogRecord[] = corpus.map((r, i) => ({
    timeUnixNano: String(1_718_450_000_000_000_000n + BigInt(i) * 1_000_000n),
    severityNumber: 9,
    severityText: 'INFO',
    body: {stringValue: textOf(r.body)},
    // The index is an integer: the processor scrubs strings only.
    attributes: [{key: INDEX_KEY, value: {intValue: String(i)}}, ...Object.entries(r.attributes).map(([key, segments]) => ({key, value: {stringValue: textOf(segments)}}))],
  }))
  const resource = {'cluster.id': 'fed-observability-remote', 'cluster.role': 'edge', 'service.name': 'checkout'}
  for (let i = 0; i < records.length; i += 250) await sendLogs(collector, resource, records.slice(i, i + 250))

  const out = await waitFor(
    `${records.length} corpus records in the logs file`,
    () => {
      const found = allLogs(collector).filter((r) => r.attributes?.some((a) => a.key === INDEX_KEY))
      return found.length >= records.length ? found : undefined
    },
    {timeoutMs: 60_000, intervalMs: 200},
  )

  const tally = emptyTally()
  for (const record of out) {
    const index = Number((record.attributes!.find((a) => a.key === INDEX_KEY)!.value as {intValue: string}).intValue)
    const sent = corpus[index]!
    scoreValue(tally, sent.body, anyValueText(record.body))
    const outAttributes = attributeMap(record.attributes)
    for (const [key, segments] of Object.entries(sent.attributes)) {
      // k8s.* values are identity, never scrubbed: not part of the measurement.
      if (key.startsWith('k8s.')) {
        expect(outAttributes[key]).toBe(textOf(segments))
        continue
      }
      scoreValue(tally, segments, outAttributes[key] ?? '')
    }
  }
  return tally
}

function printFigures(tally: Tally, custom: Tally): void {
  const {perKind, overall} = figures(tally)
  const pct = (x: number): string => x.toFixed(4)
  const rows = [...perKind, overall].map((f) => `  ${f.kind.padEnd(8)} ${String(f.items).padStart(6)}   ${pct(f.precision)}     ${pct(f.recall)}`)
  const lookalikes = Object.entries(tally.lookalikes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, c]) => `  ${category.padEnd(30)} ${String(c.survived).padStart(5)}/${String(c.total).padEnd(5)}`)
  const totalLookalikes = Object.values(tally.lookalikes).reduce((n, c) => n + c.total, 0)
  const withCustom = figures(custom).overall
  console.log(
    [
      `PII scrubbing on the real collector: ${CORPUS_RECORDS} log records (body + 3-6 attributes each), faker seed ${SEED}, default settings`,
      `  kind      items   precision  recall`,
      ...rows,
      `look-alikes that must survive (${totalLookalikes}), survived/total:`,
      ...lookalikes,
      `with allowKeys and extra patterns: overall precision ${pct(withCustom.precision)}, recall ${pct(withCustom.recall)}`,
    ].join('\n'),
  )
}
