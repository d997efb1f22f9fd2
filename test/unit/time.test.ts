import {describe, expect, it} from 'vitest'
import {scaledClock, timeScaleFromEnv} from '../../src/lib/time.js'
import {CancelledError} from '../../src/lib/errors.js'

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
