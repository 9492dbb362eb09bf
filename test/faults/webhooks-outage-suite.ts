/**
 * Fault: the operator's webhook receiver is down for an hour of fake time while security events of
 * several accounts keep coming, then back; and the qrelay process dies in the middle of delivering
 * (a batch leased, its requests never answered) and a new one takes over the same outbox. The worker
 * runs with the production defaults (12 attempts, 5 s doubling to 1 h, 10 s timeout) but 60 s idle
 * polls (fewer fake ticks) on a fake clock and scheduler. Checked: every event reaches the receiver, each webhook id with one body,
 * every signature valid at its delivery time, nothing dead-lettered, the outbox empty, and per account
 * the deliveries arrive in the order of the events (0 out-of-order deliveries: the outbox's head-of-line
 * claim per order key). Shared by the memory/SQLite and the Redis runs.
 */
import { expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { parseWebhookSecret, verifyWebhook, type WebhookHeaders } from '../../src/core/webhooks/signature.ts'
import type { Logger, Scheduler, WebhookOutbox } from '../../src/ports.ts'
import { webhookSecurityEvents, webhookWorker, type WebhookWorker } from '../../src/services/webhooks.ts'
import { fakeClock, type FakeClock } from '../helpers/fake-clock.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const key = parseWebhookSecret(SECRET) as Uint8Array
const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent }
const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** A scheduler on the fake clock: tasks run only when the test drives it. */
const fakeScheduler = (clock: FakeClock) => {
  let serial = 0
  const tasks: Array<{ dueMs: number; serial: number; run: () => void }> = []
  const scheduler: Scheduler = {
    schedule(delayMs, run) {
      const task = { dueMs: clock.now() + delayMs, serial: serial++, run }
      tasks.push(task)
      return () => {
        const at = tasks.indexOf(task)
        if (at >= 0) tasks.splice(at, 1)
      }
    },
  }
  /** Runs every task due up to `untilMs` in order, each round to its end; the clock ends at `untilMs`. */
  const driveTo = async (untilMs: number, settleMs = 5000): Promise<void> => {
    for (let guard = 0; guard < 100_000; guard++) {
      tasks.sort((a, b) => a.dueMs - b.dueMs || a.serial - b.serial)
      const next = tasks[0]
      if (next === undefined || next.dueMs > untilMs) break
      tasks.shift()
      clock.set(Math.max(clock.now(), next.dueMs))
      next.run()
      // A round ends by arming the next one: wait for that (bounded, real time).
      const deadline = Date.now() + settleMs
      while (tasks.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r))
    }
    clock.set(Math.max(clock.now(), untilMs))
  }
  return { scheduler, driveTo, pending: () => tasks.length }
}

/** What the receiver saw. */
interface Delivery {
  id: string
  body: string
  valid: boolean
  atMs: number
}

/** The store under test: an outbox, and how to get a second handle on the same data ("after a restart"). */
export interface OutboxUnderTest {
  outbox: WebhookOutbox
  reopen(): Promise<WebhookOutbox>
  close(): Promise<void>
}

/** Registers the scenario for `name` over `make`. */
export const webhookOutageScenario = (name: string, make: () => Promise<OutboxUnderTest>): void => {
  it(`${name}: receiver down 1 h then up, qrelay restarted mid-delivery: every event once per id, signed, nothing dead`, async () => {
    const store = await make()
    try {
      const config = parseConfig({
        QRELAY_WEBHOOK_URL: 'https://hooks.example/qrelay',
        QRELAY_WEBHOOK_SECRET: SECRET,
        QRELAY_WEBHOOK_POLL_INTERVAL_MS: '60000',
      }).webhooks
      const clock = fakeClock()
      const start = clock.now()
      let up = false
      let crashed = false
      let hung = 0
      const delivered: Delivery[] = []
      const fetchFor =
        (owner: () => boolean) =>
        async (_url: string, init: RequestInit): Promise<Response> => {
          // A dead process's requests never complete (and nothing of them arrives).
          if (!owner()) {
            hung++
            return new Promise<Response>(() => {})
          }
          if (!up) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })
          const headers = init.headers as Record<string, string>
          const h: WebhookHeaders = {
            'webhook-id': headers['webhook-id']!,
            'webhook-timestamp': headers['webhook-timestamp']!,
            'webhook-signature': headers['webhook-signature']!,
          }
          delivered.push({
            id: h['webhook-id'],
            body: String(init.body),
            valid: verifyWebhook(key, h, String(init.body), clock.now()),
            atMs: clock.now(),
          })
          return new Response('ok', { status: 200 })
        }
      const startWorker = (outbox: WebhookOutbox, alive: () => boolean) => {
        const sched = fakeScheduler(clock)
        const worker: WebhookWorker = webhookWorker({
          outbox,
          clock,
          random: seededRandom(11),
          logger: silent,
          scheduler: sched.scheduler,
          fetch: fetchFor(alive),
          url: config.url as string,
          secretKey: key,
          maxAttempts: config.maxAttempts,
          timeoutMs: config.timeoutMs,
          backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs, jitterRatio: 0.25 },
          pollIntervalMs: config.pollIntervalMs,
        })
        worker.start()
        return { worker, sched }
      }

      // Process 1: the receiver is down; 3 accounts emit an event every 4 minutes for an hour.
      const one = startWorker(store.outbox, () => !crashed)
      const sink = webhookSecurityEvents({
        outbox: store.outbox,
        clock,
        random: seededRandom(5),
        logger: silent,
        onEnqueued: () => one.worker.poke(),
      })
      const accounts = ['alice', 'bob', 'carol']
      let emitted = 0
      for (let t = 0; t < HOUR; t += 4 * MINUTE) {
        await one.sched.driveTo(start + t)
        for (const account of accounts) {
          await sink.emit(account, { type: 'password_changed', atMs: clock.now() + accounts.indexOf(account), deviceId: `D${emitted}` })
          emitted++
        }
      }
      await one.sched.driveTo(start + HOUR)
      expect(delivered).toHaveLength(0)
      expect(await store.outbox.counts()).toEqual({ pending: emitted, dead: 0 })

      // The receiver is back; process 1 delivers for a while, then dies holding a leased batch.
      up = true
      await one.sched.driveTo(start + HOUR + 20 * MINUTE)
      const beforeCrash = delivered.length
      crashed = true
      // Its next round claims (leases) due messages and hangs in their requests.
      await one.sched.driveTo(start + 3 * HOUR, 300)
      expect(hung).toBeGreaterThan(0)

      // Process 2 on the same outbox: the leases run out and it delivers the rest.
      const outbox2 = await store.reopen()
      const two = startWorker(outbox2, () => true)
      await two.sched.driveTo(start + 3 * HOUR + 10 * MINUTE)

      const ids = new Set(delivered.map((d) => d.id))
      expect(ids.size).toBe(emitted)
      expect(delivered.every((d) => d.valid)).toBe(true)
      // A webhook id always carries the same body (a duplicate would be the same event, for dedupe).
      const bodyOf = new Map<string, string>()
      for (const d of delivered) {
        expect(bodyOf.get(d.id) ?? d.body).toBe(d.body)
        bodyOf.set(d.id, d.body)
      }
      expect(delivered.length).toBe(emitted) // crashed before sending: no duplicate at all
      expect(await outbox2.counts()).toEqual({ pending: 0, dead: 0 })
      // Per account, the order of the events is restorable from the payload.
      for (const account of accounts) {
        const mine = [...bodyOf.values()].map((b) => JSON.parse(b)).filter((b) => b.data.account_id === account)
        expect(mine).toHaveLength(emitted / accounts.length)
        expect(new Set(mine.map((b) => b.data.at_ms)).size).toBe(mine.length)
      }
      const inversions = accounts.map((account) => {
        const seq = delivered
          .map((d) => JSON.parse(d.body))
          .filter((b) => b.data.account_id === account)
          .map((b) => b.data.at_ms as number)
        return seq.filter((v, i) => i > 0 && v < seq[i - 1]!).length
      })
      const lastMs = Math.max(...delivered.map((d) => d.atMs)) - start
      console.info(
        `faults/webhooks (${name}): ${emitted} events over a 1 h outage, ${beforeCrash} delivered before the crash, ${hung} in flight at the crash, ${delivered.length} deliveries in all, ` +
          `last at +${(lastMs / MINUTE).toFixed(1)} min, out-of-order deliveries per account ${inversions.join('/')}`,
      )
      expect(inversions).toEqual(accounts.map(() => 0))
    } finally {
      await store.close()
    }
  }, 60_000)
}
