import { describe, expect, it } from 'vitest'
import { memoryWebhookOutbox } from '../../../src/adapters/durable/memory-webhook-outbox.ts'
import { parseWebhookSecret, verifyWebhook, type WebhookHeaders } from '../../../src/core/webhooks/signature.ts'
import type { Logger, Scheduler, WebhookMessage, WebhookOutbox } from '../../../src/ports.ts'
import { webhookSecurityEvents, webhookWorker } from '../../../src/services/webhooks.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const key = parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') as Uint8Array
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet }
const noTimers: Scheduler = { schedule: () => () => {} }

interface Sent {
  url: string
  headers: WebhookHeaders
  body: string
}

const setup = (answers: Array<number | Error>) => {
  const clock = fakeClock()
  const outbox = memoryWebhookOutbox()
  const sent: Sent[] = []
  const worker = webhookWorker({
    outbox,
    clock,
    random: seededRandom(3),
    logger: quiet,
    scheduler: noTimers,
    fetch: async (url, init) => {
      sent.push({ url, headers: init.headers as unknown as WebhookHeaders, body: init.body as string })
      const answer = answers.shift() ?? 200
      if (answer instanceof Error) throw answer
      return new Response('x', { status: answer })
    },
    url: 'https://ops.example/hook',
    secretKey: key,
    maxAttempts: 3,
    timeoutMs: 1000,
    backoff: { baseMs: 1000, maxMs: 60_000, jitterRatio: 0.25 },
    pollIntervalMs: 1000,
  })
  const events = webhookSecurityEvents({ outbox, clock, random: seededRandom(4), logger: quiet })
  return { clock, outbox, sent, worker, events }
}

describe('webhookSecurityEvents', () => {
  it('enqueues one message per event, due at once, holding only public facts', async () => {
    const { outbox, events, clock } = setup([])
    await events.emit('alice', { type: 'device_not_me', atMs: clock.now(), deviceId: 'D2', details: { reported_by: 'D1' } })
    const [message] = await outbox.claimDue(clock.now(), 10, 1000)
    expect(message?.id).toMatch(/^msg_/)
    expect(JSON.parse(message!.body)).toMatchObject({
      type: 'security.device_not_me',
      data: { account_id: 'alice', device_id: 'D2', details: { reported_by: 'D1' } },
    })
  })

  it('enqueues a device_signed_in told twice once (its derived id); other events get a fresh id each', async () => {
    const { outbox, events, clock } = setup([])
    const signedIn = { type: 'device_signed_in' as const, atMs: clock.now(), deviceId: 'D7', details: { origin: 'qr' } }
    await events.emit('alice', signedIn)
    await events.emit('alice', { ...signedIn, atMs: clock.now() + 5000 })
    await events.emit('alice', { ...signedIn, deviceId: 'D8' })
    await events.emit('alice', { type: 'password_changed', atMs: clock.now() })
    await events.emit('alice', { type: 'password_changed', atMs: clock.now() })
    expect(await outbox.counts()).toEqual({ pending: 4, dead: 0 })
    // One account's messages go out one at a time: take each in turn.
    const messages: WebhookMessage[] = []
    for (let i = 0; i < 10; i++) {
      const [next] = await outbox.claimDue(clock.now(), 10, 1000)
      if (next === undefined) break
      messages.push(next)
      await outbox.complete(next.id)
    }
    const types = messages.map((m) => (JSON.parse(m.body) as { type: string }).type).sort()
    expect(types).toEqual([
      'security.device_signed_in',
      'security.device_signed_in',
      'security.password_changed',
      'security.password_changed',
    ])
    expect(new Set(messages.map((m) => m.id)).size).toBe(4)
    // The first telling's body is kept.
    const d7 = messages.find((m) => m.body.includes('"D7"'))
    expect(JSON.parse(d7?.body ?? '{}')).toMatchObject({ data: { at_ms: clock.now() } })
  })

  it('never throws when the outbox fails', async () => {
    const broken = { enqueue: async () => Promise.reject(new Error('disk full')) } as unknown as WebhookOutbox
    const errors: string[] = []
    const logger: Logger = { ...quiet, error: (_f, m) => void errors.push(m) }
    const events = webhookSecurityEvents({ outbox: broken, clock: fakeClock(), random: seededRandom(1), logger })
    await expect(events.emit('alice', { type: 'password_changed', atMs: 0 })).resolves.toBeUndefined()
    expect(errors).toEqual(['webhook enqueue failed'])
  })
})

describe('webhookWorker rounds', () => {
  it('signs with the clock of the attempt, retries on failure after the backoff, then completes', async () => {
    const { outbox, events, clock, worker, sent } = setup([500, new TypeError('fetch failed')])
    await events.emit('alice', { type: 'password_changed', atMs: clock.now() })
    expect(await worker.runOnce()).toBe(1)
    expect(verifyWebhook(key, sent[0]!.headers, sent[0]!.body, clock.now())).toBe(true)
    expect(await worker.runOnce()).toBe(0) // not due before the backoff
    clock.advance(1000)
    expect(await worker.runOnce()).toBe(1)
    clock.advance(2000)
    expect(await worker.runOnce()).toBe(1)
    expect(sent).toHaveLength(3)
    expect(sent[2]!.headers['webhook-timestamp']).toBe(String(Math.floor(clock.now() / 1000)))
    expect(await outbox.counts()).toEqual({ pending: 0, dead: 0 })
  })

  it('dead-letters after maxAttempts failures', async () => {
    const { outbox, events, clock, worker } = setup([500, 502, 404])
    await events.emit('alice', { type: 'totp_enabled', atMs: clock.now() })
    for (let i = 0; i < 3; i++) {
      await worker.runOnce()
      clock.advance(10_000)
    }
    expect(await outbox.counts()).toEqual({ pending: 0, dead: 1 })
    expect((await outbox.listDead(1))[0]).toMatchObject({ attempts: 3, lastError: 'status 404' })
    expect(await worker.runOnce()).toBe(0)
  })
})
