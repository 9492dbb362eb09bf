/**
 * Reads a webhook outbox the way the delivery worker would, for tests: every message due now, in the
 * outbox's order (one account's messages one at a time), each completed once read.
 */
import { expect } from 'vitest'
import type { WebhookOutbox } from '../../src/ports.ts'

/**
 * Every message waiting in `outbox` at `nowMs`, as parsed JSON bodies, oldest first; the outbox is empty after.
 *
 * @example
 * expect((await drainWebhooks(outbox, clock.now())).map((w) => w.type)).toEqual(['security.device_signed_out'])
 */
export const drainWebhooks = async (
  outbox: Pick<WebhookOutbox, 'claimDue' | 'complete'>,
  nowMs: number,
): Promise<Array<Record<string, any>>> => {
  const sent: Array<Record<string, any>> = []
  for (let due = await outbox.claimDue(nowMs, 100, 30_000); due.length > 0; due = await outbox.claimDue(nowMs, 100, 30_000)) {
    for (const m of due) {
      sent.push(JSON.parse(m.body) as Record<string, any>)
      await outbox.complete(m.id)
    }
  }
  return sent
}

/**
 * `backlog` messages of one account (its head claimed and being delivered), then one of another account
 * (finding 69's tests).
 */
export const withBacklog = async (outbox: WebhookOutbox, backlog: number): Promise<void> => {
  for (let i = 0; i < backlog; i++) {
    await outbox.enqueue({ id: `flood-${String(i).padStart(7, '0')}`, body: '{}', createdAtMs: i, orderKey: 'flooder', nextAttemptAtMs: i })
  }
  const [head] = await outbox.claimDue(backlog, 10, 3_600_000)
  expect(head?.id).toBe('flood-0000000')
  await outbox.enqueue({ id: 'victim', body: '{}', createdAtMs: backlog + 1, orderKey: 'victim', nextAttemptAtMs: backlog + 1 })
}
