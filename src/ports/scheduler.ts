/** Runs a task later (the WebSocket hello, idle and expiry timers). Only `src/runtime/*` builds the real one. */
export interface Scheduler {
  /** Calls `task` once after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, task: () => void): () => void
}
