import {describe, expect, it} from 'vitest'
import {federationOverrides} from '../../src/federation/flags.js'
import {loadFederation} from '../../src/federation/load.js'
import {federationSchema} from '../../src/federation/schema.js'
import {CancelledError, ConfigError} from '../../src/lib/errors.js'
import {DURATION_PATTERN, formatQueryDuration, parseDuration, scaledClock, timeScaleFromEnv} from '../../src/lib/time.js'
import {toGoDuration} from '../../src/render/render.js'
import {EXAMPLE} from '../helpers/federation.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

describe('durations (one parser for flags and the federation file, as Prometheus reads them)', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90 * SECOND],
    ['20m', 20 * MINUTE],
    ['1h30m', HOUR + 30 * MINUTE],
    ['1d', DAY],
    ['15d', 15 * DAY],
    ['2w', 14 * DAY],
    ['1y', 365 * DAY],
    ['1w2d3h4m5s6ms', 9 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND + 6],
    ['1m500ms', MINUTE + 500],
    [' 5m ', 5 * MINUTE],
    ['90m', 90 * MINUTE],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  // Prometheus 3.16 refuses each of these for --storage.tsdb.retention.time ("not a valid duration
  // string", or "unknown unit" for a fraction): a federation file must not promise them.
  it.each(['', 'soon', '90', '1.5h', '1m1h', '1h1h', '30s1m', '1D', '1H', '-5m', '5 m', 'd', 'ms', '1mo'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it('is the pattern the federation schema checks, so the file and the flags accept the same durations', () => {
    expect(federationSchema.definitions.telemetry.properties.retention.pattern).toBe(DURATION_PATTERN)
    const file = (retention: string) => loadFederation({file: EXAMPLE, overrides: federationOverrides({retention})})
    expect(file('2w').telemetry.retention).toBe('2w')
    expect(file('1d12h').telemetry.retention).toBe('1d12h')
    expect(() => file('12h1d')).toThrow(ConfigError)
  })

  it('turns into Go durations for Tempo without a d unit', () => {
    expect(toGoDuration('15d')).toBe('360h')
    expect(toGoDuration('1w')).toBe('168h')
    expect(toGoDuration('90s')).toBe('90s')
  })
})

describe('durations in queries (LogQL ranges, valid for Go and Prometheus alike)', () => {
  it.each([
    [20 * SECOND, '20s'],
    [29 * SECOND, '29s'],
    [90 * SECOND, '1m30s'],
    [15 * MINUTE, '15m'],
    [DAY, '24h'],
    [7 * DAY, '168h'],
    [1500, '1s500ms'],
    [400, '400ms'],
    [0, '1ms'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatQueryDuration(ms)).toBe(text)
    if (ms > 0) expect(parseDuration(text)).toBe(ms)
  })
})

describe('the clock every wait runs on', () => {
  it('reads FEDOBS_TIME_SCALE only when handed an environment, and only a factor in (0, 1]', () => {
    expect(timeScaleFromEnv({})).toBe(1)
    expect(timeScaleFromEnv({FEDOBS_TIME_SCALE: ''})).toBe(1)
    expect(timeScaleFromEnv({FEDOBS_TIME_SCALE: '0.02'})).toBe(0.02)
    for (const bad of ['0', '-1', '2', 'fast', 'NaN']) expect(timeScaleFromEnv({FEDOBS_TIME_SCALE: bad}), bad).toBe(1)
  })

  it('refuses a scale outside (0, 1]', () => {
    expect(() => scaledClock(0)).toThrow(RangeError)
    expect(() => scaledClock(1.5)).toThrow(RangeError)
  })

  it('a scaled clock runs simulated time faster: a 10 s sleep at 0.001 takes about 10 ms and advances now() by about 10 s', async () => {
    const clock = scaledClock(0.001)
    const realStart = performance.now()
    const simulatedStart = clock.now()
    await clock.sleep(10_000)
    const real = performance.now() - realStart
    expect(real).toBeGreaterThanOrEqual(9)
    // Generous: a loaded 2-core machine may be late, never early.
    expect(real).toBeLessThan(2000)
    expect(clock.now() - simulatedStart).toBeGreaterThanOrEqual(9_000)
  })

  it('a sleep ends early, as cancelled, when its signal aborts', async () => {
    const controller = new AbortController()
    const sleeping = scaledClock(1).sleep(60_000, controller.signal)
    controller.abort(new CancelledError())
    await expect(sleeping).rejects.toBeInstanceOf(CancelledError)
  })
})
