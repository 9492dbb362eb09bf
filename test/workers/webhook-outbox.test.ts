/**
 * The webhook outbox on Workers: the unchanged WebhookOutbox conformance suite against the Durable
 * Object adapter inside workerd (two adapters on one object play two isolates), and the object's
 * alarm scheduled by an enqueue.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { durableObjectWebhookOutbox } from '../../src/adapters/durable/durable-object-webhook-outbox.ts'
import { describeWebhookOutbox } from '../integration/durable/webhook-outbox-suite.ts'

let counter = 0

describeWebhookOutbox('durable object', () => {
  const name = `outbox-test-${++counter}-${Date.now()}`
  return {
    a: durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX, name }),
    b: durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX, name }),
    close: async () => {},
  }
})

describe('webhook outbox object: delivery by alarm', () => {
  it('arms its alarm for the message due first; a round without a webhook URL keeps it and re-arms', async () => {
    const name = `outbox-alarm-${Date.now()}`
    const outbox = durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX, name })
    const stub = env.RELAY_OUTBOX.getByName(name)
    const dueAt = Date.now() + 60_000
    expect(
      await outbox.enqueue({
        id: 'msg_later',
        body: '{"type":"security.password_changed"}',
        createdAtMs: Date.now(),
        nextAttemptAtMs: dueAt,
      }),
    ).toBe(true)
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(dueAt)
    expect(await outbox.enqueue({ id: 'msg_sooner', body: '{}', createdAtMs: Date.now(), nextAttemptAtMs: dueAt - 30_000 })).toBe(true)
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(dueAt - 30_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await outbox.counts()).toEqual({ pending: 2, dead: 0 })
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull()
  })
})
