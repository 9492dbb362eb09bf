/**
 * The webhook outbox on Workers: the unchanged WebhookOutbox conformance suite against the Durable
 * Object adapter inside workerd (two adapters on one object play two isolates), and the object's
 * alarm scheduled by an enqueue.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
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

describe('finding 82: the outbox object drains a backlog', () => {
  it('finding 82: after a round that delivered a full batch, the next round is due at once, not a second later', async () => {
    const name = `outbox-drain-${Date.now()}`
    const outbox = durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX, name })
    const stub = env.RELAY_OUTBOX.getByName(name)
    const now = Date.now()
    for (let i = 0; i < 25; i++) {
      const id = `msg_${String(i).padStart(2, '0')}`
      expect(await outbox.enqueue({ id, body: '{}', createdAtMs: now, nextAttemptAtMs: now - 1_000 })).toBe(true)
    }
    const posted: string[] = []
    const receiver = vi.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
      posted.push(String(new Headers(init?.headers).get('webhook-id')))
      return new Response(null, { status: 204 })
    })
    try {
      const { next, sent, counts } = await runInDurableObject(stub, async (instance, state) => {
        // This round alone: the alarm the enqueues armed is run here, by hand, with the deployment's webhook settings.
        await state.storage.deleteAlarm()
        const own = Object.getOwnPropertyDescriptor(instance, 'env')
        Object.defineProperty(instance, 'env', {
          configurable: true,
          value: { ...env, QRELAY_WEBHOOK_URL: 'https://hooks.example/qrelay', QRELAY_WEBHOOK_SECRET: `whsec_${btoa('k'.repeat(32))}` },
        })
        try {
          await instance.alarm()
          return { next: await state.storage.getAlarm(), sent: posted.length, counts: await instance.counts() }
        } finally {
          await state.storage.deleteAlarm()
          if (own === undefined) Reflect.deleteProperty(instance, 'env')
          else Object.defineProperty(instance, 'env', own)
        }
      })
      expect(sent).toBe(10)
      expect(counts).toEqual({ pending: 15, dead: 0 })
      // 15 messages are due now: the alarm is not a second away (10 a second at most), as Node's worker goes on at once.
      expect(next).not.toBeNull()
      expect(next as number).toBeLessThanOrEqual(Date.now())
    } finally {
      receiver.mockRestore()
    }
  })
})
