/**
 * The metrics wrappers keep the store contracts: the ephemeral, durable and webhook-outbox
 * conformance suites run unchanged through them (memory adapters, real Prometheus metrics).
 */
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { memoryWebhookOutbox } from '../../../src/adapters/durable/memory-webhook-outbox.ts'
import { prometheusMetrics } from '../../../src/adapters/metrics/prometheus.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { countedWebhookOutbox, timedDurableStore, timedEphemeralStore } from '../../../src/services/metrics-stores.ts'
import { describeDurableStore } from '../durable/conformance.ts'
import { describeWebhookOutbox } from '../durable/webhook-outbox-suite.ts'
import { describeEphemeralStore } from '../storage/conformance.ts'

const metrics = prometheusMetrics({ processMetrics: false })

describeEphemeralStore('memory, timed', (clock) => timedEphemeralStore(memoryStore({ clock, sweepIntervalMs: 0 }), metrics))
describeDurableStore('memory, timed', (clock) => timedDurableStore(memoryDurableStore({ clock }), metrics))
describeWebhookOutbox('memory, counted', () => {
  const outbox = countedWebhookOutbox(memoryWebhookOutbox(), metrics)
  return { a: outbox, b: outbox, close: async () => {} }
})
