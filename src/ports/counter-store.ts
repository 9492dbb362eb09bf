/** Counts of a sliding-window rate limit after one hit: this window's count and the previous one's. */
export interface WindowCounts {
  current: number
  previous: number
}

/**
 * The admission test of {@link CounterStore.reserveWindow}: one more hit is admitted while
 * `previous × previousWeight + (current + 1) × currentWeight ≤ capacity` (integers; `windowBudget`
 * in `core/policy/rate-limit.ts` computes them from a rule and the time).
 */
export interface WindowBudget {
  previousWeight: number
  currentWeight: number
  capacity: number
}

/** Outcome of {@link CounterStore.reserveWindow}: whether a slot was taken, and the counts after it. */
export interface WindowReservation extends WindowCounts {
  reserved: boolean
}

/** Ephemeral counters: abuse signals and rate-limit windows. */
export interface CounterStore {
  /** Adds one and returns the new value; the TTL is set when the counter is created, never extended. */
  increment(key: string, ttlMs: number): Promise<number>
  /** Reads a counter (0 when absent or expired). */
  read(key: string): Promise<number>
  /**
   * Adds one to window `windowIndex` of `key` and returns it with window `windowIndex - 1`.
   * Windows live for `ttlMs` after creation (two window lengths suffice).
   */
  hitWindow(key: string, windowIndex: number, ttlMs: number): Promise<WindowCounts>
  /**
   * Reserves a slot: in one atomic step, adds one to window `windowIndex` of `key` only if `budget`
   * admits it (a refused call counts nothing). Of many concurrent callers, exactly as many as the
   * budget admits get `reserved: true`. Same keys and TTL rule as {@link hitWindow}.
   */
  reserveWindow(key: string, windowIndex: number, ttlMs: number, budget: WindowBudget): Promise<WindowReservation>
  /** Gives back one slot of window `windowIndex` of `key` (never below 0; nothing when expired or absent). */
  releaseWindow(key: string, windowIndex: number): Promise<void>
}
