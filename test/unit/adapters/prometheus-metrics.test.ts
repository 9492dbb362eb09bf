/**
 * The Prometheus metrics adapter and the metrics wrappers, without a server: what each port method
 * writes, label hygiene (a value of the wrong shape is `other`; each metric's combinations are
 * bounded), gauges read at scrape time (a failing reader gives NaN, the scrape still answers), the
 * webhook outbox counting only what the outbox took, abuse blocks by reason, and the no-op.
 */
import { describe, expect, it } from 'vitest'
import { memoryWebhookOutbox } from '../../../src/adapters/durable/memory-webhook-outbox.ts'
import { MAX_CHILDREN, prometheusMetrics } from '../../../src/adapters/metrics/prometheus.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../../src/core/policy/abuse.ts'
import { NO_METRICS } from '../../../src/ports/metrics.ts'
import { abuseGuard } from '../../../src/services/abuse-guard.ts'
import { countedWebhookOutbox } from '../../../src/services/metrics-stores.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { parseExposition, sampleValue } from '../../helpers/prometheus-scrape.ts'

const scrape = async (metrics: ReturnType<typeof prometheusMetrics>) => parseExposition((await metrics.render()).body)

describe('prometheusMetrics', () => {
  it('writes each port method under its metric, with its labels', async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    metrics.channel('msc4388', 'created')
    metrics.channel('msc4388', 'created')
    metrics.channel('native', 'aborted')
    metrics.login('password', 'wrong_password')
    metrics.approval('refused', 'far_away')
    metrics.policyDenial('network_denied')
    metrics.abuseBlock('low_completion')
    metrics.tokenRequest('refresh_token', 'invalid_grant')
    metrics.webhook('dead_lettered')
    metrics.request('PUT', '/v1/rendezvous/:id', 409, 0.003)
    const kvGet = metrics.storeOperation('kv', 'get')
    kvGet.end(kvGet.start(), true)
    const samples = await scrape(metrics)
    expect(sampleValue(samples, 'qrelay_channels_created_total', { api: 'msc4388' })).toBe(2)
    expect(sampleValue(samples, 'qrelay_channels_aborted_total', { api: 'native' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_logins_total', { method: 'password', outcome: 'wrong_password' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_approvals_total', { outcome: 'refused', reason: 'far_away' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_policy_denials_total', { reason: 'network_denied' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_abuse_blocks_total', { reason: 'low_completion' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_token_requests_total', { grant_type: 'refresh_token', error: 'invalid_grant' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_webhook_dead_letters_total')).toBe(1)
    const request = { method: 'PUT', route: '/v1/rendezvous/:id', status: '409' }
    expect(sampleValue(samples, 'qrelay_http_request_duration_seconds_bucket', { ...request, le: '0.0025' })).toBe(0)
    expect(sampleValue(samples, 'qrelay_http_request_duration_seconds_bucket', { ...request, le: '0.005' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_http_request_duration_seconds_bucket', { ...request, le: '+Inf' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_http_request_duration_seconds_sum', request)).toBeCloseTo(0.003)
    expect(sampleValue(samples, 'qrelay_store_operation_duration_seconds_count', { port: 'kv', operation: 'get' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_store_operation_errors_total', { port: 'kv', operation: 'get' })).toBe(1)
  })

  it('records a label value of the wrong shape, or an unknown method, as other', async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    metrics.request('BREW', '/v1/rendezvous/a b"}\n', 200, 0.001)
    metrics.login('password', 'x'.repeat(97))
    const samples = await scrape(metrics)
    expect(sampleValue(samples, 'qrelay_http_request_duration_seconds_count', { method: 'other', route: 'other', status: '200' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_logins_total', { method: 'password', outcome: 'other' })).toBe(1)
  })

  it(`keeps at most ${MAX_CHILDREN} label combinations per metric, counting the rest under other`, async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    for (let i = 0; i < MAX_CHILDREN + 100; i++) metrics.policyDenial(`reason_${i}`)
    const samples = (await scrape(metrics)).filter((s) => s.name === 'qrelay_policy_denials_total')
    expect(samples).toHaveLength(MAX_CHILDREN + 1)
    expect(sampleValue(samples, 'qrelay_policy_denials_total', { reason: 'other' })).toBe(100)
  })

  it('reads gauges at scrape time, summing their readers; a failing reader gives NaN and the scrape still answers', async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    let open = 2
    metrics.observe('open_websockets', () => open)
    metrics.observe('open_websockets', async () => 1)
    metrics.observe('live_channels', () => Promise.reject(new Error('redis down')))
    expect(sampleValue(await scrape(metrics), 'qrelay_websockets_open')).toBe(3)
    open = 5
    const samples = await scrape(metrics)
    expect(sampleValue(samples, 'qrelay_websockets_open')).toBe(6)
    expect(sampleValue(samples, 'qrelay_channels_live')).toBeNaN()
  })

  it('says it is enabled and times with a monotonic clock; the no-op says neither and renders nothing', async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    expect(metrics.enabled).toBe(true)
    expect(metrics.timer()()).toBeGreaterThanOrEqual(0)
    expect(NO_METRICS.enabled).toBe(false)
    expect(NO_METRICS.timer()()).toBe(0)
    NO_METRICS.channel('native', 'created')
    expect((await NO_METRICS.render()).body).toBe('')
  })
})

describe('countedWebhookOutbox', () => {
  it('counts deliveries, retries and dead letters the outbox took, and reads its depth at scrape time', async () => {
    const metrics = prometheusMetrics({ processMetrics: false })
    const outbox = countedWebhookOutbox(memoryWebhookOutbox(), metrics)
    const t0 = Date.UTC(2026, 0, 1)
    for (const id of ['a', 'b', 'c']) await outbox.enqueue({ id, body: '{}', createdAtMs: t0, orderKey: id, nextAttemptAtMs: t0 })
    const [a, b, c] = await outbox.claimDue(t0, 10, 30_000)
    expect(await outbox.complete(a!.id)).toBe(true)
    expect(await outbox.reschedule(b!.id, b!.attempts, t0 + 1000, 'status 500')).toBe(true)
    // A holder whose lease ran out (stale attempts) changes nothing, and counts nothing.
    expect(await outbox.deadLetter(c!.id, c!.attempts + 7, 'timeout')).toBe(false)
    expect(await outbox.deadLetter(c!.id, c!.attempts, 'timeout')).toBe(true)
    const samples = await scrape(metrics)
    expect(sampleValue(samples, 'qrelay_webhook_deliveries_total')).toBe(1)
    expect(sampleValue(samples, 'qrelay_webhook_retries_total')).toBe(1)
    expect(sampleValue(samples, 'qrelay_webhook_dead_letters_total')).toBe(1)
    expect(sampleValue(samples, 'qrelay_webhook_queue_depth', { state: 'pending' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_webhook_queue_depth', { state: 'dead' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_store_operation_duration_seconds_count', { port: 'webhook_outbox', operation: 'claimDue' })).toBe(1)
  })
})

describe('abuse blocks', () => {
  it('counts an automatic block by its reason, and "not me" denies by scope', async () => {
    const clock = fakeClock(Date.UTC(2026, 5, 1, 12))
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const metrics = prometheusMetrics({ processMetrics: false })
    const guard = abuseGuard({
      counters: store.counters,
      kv: store.kv,
      clock,
      thresholds: { ...DEFAULT_ABUSE_PER_IP, minCreatedForRatio: 5 },
      metrics,
    })
    for (let i = 0; i < 5; i++) await guard.record('203.0.113.1', 'channel_created')
    expect(await guard.isDenied('203.0.113.1')).toBe(true)
    await guard.denyForAccount('203.0.113.2', 'account-1', 60_000, ['198.51.100.1'])
    const samples = await scrape(metrics)
    expect(sampleValue(samples, 'qrelay_abuse_blocks_total', { reason: 'low_completion' })).toBe(1)
    expect(sampleValue(samples, 'qrelay_abuse_blocks_total', { reason: 'not_me_account' })).toBe(1)
  })
})
