/**
 * The delivery worker against a real receiving `node:http` server: signed deliveries a Standard
 * Webhooks verifier accepts, retries with backoff, timeouts, and dead letters. Backoff knobs are tiny
 * so that every test runs in well under a second of real time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { memoryWebhookOutbox } from '../../../src/adapters/durable/memory-webhook-outbox.ts'
import { cryptoRandom, systemClock } from '../../../src/adapters/platform/node.ts'
import { parseWebhookSecret, verifyWebhook } from '../../../src/core/webhooks/signature.ts'
import type { Logger, WebhookOutbox } from '../../../src/ports.ts'
import { systemScheduler } from '../../../src/runtime/node-ws.ts'
import { webhookSecurityEvents, webhookWorker, type WebhookWorker } from '../../../src/services/webhooks.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const key = parseWebhookSecret(SECRET) as Uint8Array

const lines: string[] = []
const logger: Logger = {
  debug: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  info: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  warn: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  error: (f, m) => void lines.push(JSON.stringify({ ...f, m })),
  child: () => logger,
}

let receiver: WebhookReceiver
let outbox: WebhookOutbox
let worker: WebhookWorker | undefined

const startWorker = (overrides: { maxAttempts?: number; timeoutMs?: number } = {}): WebhookWorker => {
  worker = webhookWorker({
    outbox,
    clock: systemClock,
    random: cryptoRandom,
    logger,
    scheduler: systemScheduler,
    fetch: (url, init) => fetch(url, init),
    url: receiver.url,
    secretKey: key,
    maxAttempts: overrides.maxAttempts ?? 5,
    timeoutMs: overrides.timeoutMs ?? 2000,
    backoff: { baseMs: 20, maxMs: 80, jitterRatio: 0.25 },
    pollIntervalMs: 10,
  })
  worker.start()
  return worker
}
const sink = () => webhookSecurityEvents({ outbox, clock: systemClock, random: cryptoRandom, logger, onEnqueued: () => worker?.poke() })

beforeEach(async () => {
  lines.length = 0
  receiver = await startWebhookReceiver()
  outbox = memoryWebhookOutbox()
})
afterEach(async () => {
  await worker?.stop()
  worker = undefined
  await receiver.close()
})

describe('webhook delivery to a real receiver', () => {
  it('delivers a security event signed so that a Standard Webhooks verifier accepts it', async () => {
    startWorker()
    await sink().emit('alice', {
      type: 'password_changed',
      atMs: Date.UTC(2026, 0, 1),
      deviceId: 'KIOSK',
      details: { devices_signed_out: 2 },
    })
    const [got] = await receiver.waitFor(1)
    expect(got?.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]{22}$/)
    expect(verifyWebhook(key, got!.headers, got!.body, Date.now())).toBe(true)
    expect(JSON.parse(got!.body)).toEqual({
      type: 'security.password_changed',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: { account_id: 'alice', device_id: 'KIOSK', at_ms: Date.UTC(2026, 0, 1), details: { devices_signed_out: 2 } },
    })
    await expect.poll(() => outbox.counts()).toEqual({ pending: 0, dead: 0 })
    expect(lines.join('\n')).not.toContain(SECRET.slice(6))
  })

  it('retries after two 500s and delivers on the third attempt, same id, every attempt signed', async () => {
    receiver.respondWith(500, 500)
    startWorker()
    await sink().emit('alice', { type: 'device_signed_in', atMs: Date.now(), deviceId: 'NEW' })
    const got = await receiver.waitFor(3)
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1)
    for (const r of got) expect(verifyWebhook(key, r.headers, r.body, Date.now())).toBe(true)
    // Backoff: the second retry waited at least (1 − jitter) of twice the base.
    expect(got[2]!.receivedAtMs - got[1]!.receivedAtMs).toBeGreaterThanOrEqual(25)
    await expect.poll(() => outbox.counts()).toEqual({ pending: 0, dead: 0 })
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(receiver.received).toHaveLength(3)
    expect(lines.filter((l) => l.includes('will retry'))).toHaveLength(2)
    expect(lines.some((l) => l.includes('"error":"status 500"'))).toBe(true)
  })

  it('counts a receiver that does not answer in time as a failure, and retries', async () => {
    receiver.respondWith('hang')
    startWorker({ timeoutMs: 150 })
    await sink().emit('alice', { type: 'totp_enabled', atMs: Date.now() })
    const got = await receiver.waitFor(2)
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id'])
    expect(lines.some((l) => l.includes('"error":"timeout"'))).toBe(true)
    await expect.poll(() => outbox.counts()).toEqual({ pending: 0, dead: 0 })
  })

  it('dead-letters after the last attempt and keeps the message for inspection', async () => {
    receiver.respondWith(503, 503, 503)
    startWorker({ maxAttempts: 3 })
    await sink().emit('alice', { type: 'recovery_code_used', atMs: Date.now(), details: { remaining: 9 } })
    await receiver.waitFor(3)
    await expect.poll(() => outbox.counts()).toEqual({ pending: 0, dead: 1 })
    const [dead] = await outbox.listDead(10)
    expect(dead).toMatchObject({ attempts: 3, lastError: 'status 503' })
    expect(lines.some((l) => l.includes('dead-lettered'))).toBe(true)
  })

  it('refuses to follow a redirect (the signed event goes only where configured)', async () => {
    receiver.respondWith(307)
    startWorker({ maxAttempts: 1 })
    await sink().emit('alice', { type: 'totp_disabled', atMs: Date.now() })
    await receiver.waitFor(1)
    await expect.poll(() => outbox.counts()).toEqual({ pending: 0, dead: 1 })
    expect((await outbox.listDead(1))[0]?.lastError).toBe('status 307')
  })

  it('waits for a delivery in flight when stopped, and sends nothing after', async () => {
    receiver.respondWith('hang')
    const w = startWorker({ timeoutMs: 300 })
    await sink().emit('alice', { type: 'password_changed', atMs: Date.now() })
    await receiver.waitFor(1)
    const started = Date.now()
    await w.stop()
    expect(Date.now() - started).toBeGreaterThanOrEqual(200)
    const [pending] = await outbox.claimDue(Date.now() + 3_600_000, 10, 1000)
    expect(pending).toMatchObject({ attempts: 2, lastError: 'timeout' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(receiver.received).toHaveLength(1)
  })
})
