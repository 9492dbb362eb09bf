import type { Clock } from '../../src/ports.ts'

/** A clock that moves only when told. */
export interface FakeClock extends Clock {
  advance(ms: number): void
  set(ms: number): void
}

/** A fake clock starting at `startMs` (default: 2026-01-01T00:00:00Z). */
export const fakeClock = (startMs = Date.UTC(2026, 0, 1)): FakeClock => {
  let now = startMs
  return {
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    set: (ms) => {
      now = ms
    },
  }
}
