/**
 * Webhook outbox in memory: tests and single-process development only (a restart loses it). Each
 * method runs synchronously, so it is atomic against every other call in the process.
 */
import { COMPLETED_ID_MEMORY_MS, type WebhookMessage, type WebhookOutbox } from '../../ports.ts'

interface Entry {
  message: WebhookMessage
  deadAtMs?: number
}

/**
 * Builds an empty memory outbox.
 *
 * @example
 * const outbox = memoryWebhookOutbox()
 */
export const memoryWebhookOutbox = (): WebhookOutbox => {
  const entries = new Map<string, Entry>()
  /** Ids of completed messages, by the end of their last lease (forgotten by a later claim). */
  const completed = new Map<string, number>()
  const live = (id: string, attempts: number): Entry | undefined => {
    const entry = entries.get(id)
    return entry !== undefined && entry.deadAtMs === undefined && entry.message.attempts === attempts ? entry : undefined
  }
  const byId = (a: WebhookMessage, b: WebhookMessage): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const byDue = (a: WebhookMessage, b: WebhookMessage): number => a.nextAttemptAtMs - b.nextAttemptAtMs || byId(a, b)
  const byAge = (a: WebhookMessage, b: WebhookMessage): number => a.createdAtMs - b.createdAtMs || byId(a, b)
  /** The oldest live message of each order key: the only one of its key that may be claimed. */
  const heads = (): Map<string, WebhookMessage> => {
    const head = new Map<string, WebhookMessage>()
    for (const { message, deadAtMs } of entries.values()) {
      if (deadAtMs !== undefined || message.orderKey === undefined) continue
      const current = head.get(message.orderKey)
      if (current === undefined || byAge(message, current) < 0) head.set(message.orderKey, message)
    }
    return head
  }
  return {
    async enqueue(message) {
      if (entries.has(message.id) || completed.has(message.id)) return false
      entries.set(message.id, { message: { ...message, attempts: 0 } })
      return true
    },
    async claimDue(nowMs, limit, leaseMs) {
      for (const [id, atMs] of completed) if (atMs <= nowMs - COMPLETED_ID_MEMORY_MS) completed.delete(id)
      const head = heads()
      const due = [...entries.values()]
        .filter((e) => e.deadAtMs === undefined && e.message.nextAttemptAtMs <= nowMs)
        .map((e) => e.message)
        .filter((m) => m.orderKey === undefined || head.get(m.orderKey) === m)
        .sort(byDue)
        .slice(0, limit)
      for (const message of due) {
        message.attempts += 1
        message.nextAttemptAtMs = nowMs + leaseMs
      }
      return due.map((m) => ({ ...m }))
    },
    async complete(id) {
      const entry = entries.get(id)
      if (entry !== undefined) completed.set(id, entry.message.nextAttemptAtMs)
      return entries.delete(id)
    },
    async reschedule(id, attempts, nextAttemptAtMs, lastError) {
      const entry = live(id, attempts)
      if (entry === undefined) return false
      entry.message.nextAttemptAtMs = nextAttemptAtMs
      entry.message.lastError = lastError
      return true
    },
    async deadLetter(id, attempts, lastError) {
      const entry = live(id, attempts)
      if (entry === undefined) return false
      entry.message.lastError = lastError
      entry.deadAtMs = entry.message.nextAttemptAtMs
      return true
    },
    async listDead(limit) {
      return [...entries.values()]
        .filter((e) => e.deadAtMs !== undefined)
        .map((e) => ({ ...e.message }))
        .sort(byDue)
        .slice(0, limit)
    },
    async counts() {
      let dead = 0
      for (const e of entries.values()) if (e.deadAtMs !== undefined) dead++
      return { pending: entries.size - dead, dead }
    },
  }
}
