/**
 * Store latency: wrappers over the storage ports that time every operation into
 * `qrelay_store_operation_duration_seconds{port, operation}` (and count the ones that throw), and a
 * webhook outbox wrapper that counts deliveries, retries and dead letters. The wrapped store behaves
 * exactly as the one it wraps: same results, same errors, same atomicity (each call is passed through
 * once). Built by the composition root only when metrics are on; the no-op metrics wrap nothing.
 */
import type { Metrics } from '../ports/metrics.ts'
import type { DurableStore, EphemeralStore, WebhookOutbox } from '../ports.ts'

/** The names of the functions of `target`, its own and its prototypes' (classes and plain objects alike). */
const methodNames = (target: object): string[] => {
  const names = new Set<string>()
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && typeof (target as Record<string, unknown>)[name] === 'function') names.add(name)
    }
  }
  return [...names]
}

/**
 * `target` with each method timed under `port`. The recorder of each operation is made once, here;
 * a call costs two clock reads and one observation, and its promise is handed back as it is (the
 * timing hangs off it: the caller waits no extra turn). Properties that are not functions read through.
 */
const timedPort = <P extends object>(metrics: Metrics, port: string, target: P): P => {
  const timed = Object.create(target) as Record<string, unknown>
  for (const name of methodNames(target)) {
    const method = (target as Record<string, (...args: unknown[]) => unknown>)[name] as (...args: unknown[]) => unknown
    const op = metrics.storeOperation(port, name)
    timed[name] = (...args: unknown[]): unknown => {
      const started = op.start()
      let result: unknown
      try {
        result = method.apply(target, args)
      } catch (error) {
        op.end(started, true)
        throw error
      }
      // The caller awaits `result` itself; this side chain only records (it handles both outcomes).
      if (result instanceof Promise) {
        void result.then(
          () => op.end(started, false),
          () => op.end(started, true),
        )
      } else op.end(started, false)
      return result
    }
  }
  return timed as P
}

/**
 * The ephemeral store with its channel, counter and key-value operations timed.
 *
 * @example
 * const timed = metrics.enabled ? timedEphemeralStore(store, metrics) : store
 */
// No `inProcess`: with metrics on, every channel and counter operation goes through its timed method.
export const timedEphemeralStore = (store: EphemeralStore, metrics: Metrics): EphemeralStore => ({
  kind: store.kind,
  channels: timedPort(metrics, 'channels', store.channels),
  counters: timedPort(metrics, 'counters', store.counters),
  kv: timedPort(metrics, 'kv', store.kv),
  ping: () => store.ping(),
  close: () => store.close(),
})

/** The durable store with its account, credential, device, token and security operations timed. */
export const timedDurableStore = (store: DurableStore, metrics: Metrics): DurableStore => ({
  kind: store.kind,
  accounts: timedPort(metrics, 'accounts', store.accounts),
  credentials: timedPort(metrics, 'credentials', store.credentials),
  devices: timedPort(metrics, 'devices', store.devices),
  tokens: timedPort(metrics, 'tokens', store.tokens),
  security: timedPort(metrics, 'security', store.security),
  purgeExpired: () => store.purgeExpired(),
  ping: () => store.ping(),
  close: () => store.close(),
})

/**
 * The webhook outbox, timed, with its outcomes counted: a completed message is a delivery, a
 * rescheduled one a retry, a dead-lettered one a dead letter (each only when the outbox took it:
 * a holder whose lease ran out changes nothing, and counts nothing). The queue depth (pending and
 * dead) is read from the outbox at scrape time.
 *
 * @example
 * const outbox = countedWebhookOutbox(sqliteWebhookOutbox({ db }), metrics)
 */
export const countedWebhookOutbox = (outbox: WebhookOutbox, metrics: Metrics): WebhookOutbox => {
  const timed = timedPort(metrics, 'webhook_outbox', outbox)
  metrics.observe('webhook_queue_pending', async () => (await outbox.counts()).pending)
  metrics.observe('webhook_queue_dead', async () => (await outbox.counts()).dead)
  const counted = (event: 'delivered' | 'retried' | 'dead_lettered') => (taken: boolean) => {
    if (taken) metrics.webhook(event)
    return taken
  }
  return Object.assign(Object.create(timed) as WebhookOutbox, {
    complete: (id: string) => timed.complete(id).then(counted('delivered')),
    reschedule: (id: string, attempts: number, atMs: number, why: string) =>
      timed.reschedule(id, attempts, atMs, why).then(counted('retried')),
    deadLetter: (id: string, attempts: number, why: string) => timed.deadLetter(id, attempts, why).then(counted('dead_lettered')),
  })
}
