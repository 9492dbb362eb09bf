/**
 * What the Worker does when a Durable Object fails under it, beyond the app's own routes: objects are
 * reset, moved and overloaded at any time, and a call to one then throws (`retryable`, `overloaded`).
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../src/runtime/workers.ts'

const ORIGIN = 'https://relay.example'

/** The bindings with the key namespace replaced by one whose objects throw `error` on every call. */
const failingKeys = (error: Error): Env =>
  ({
    ...env,
    RELAY_KEYS: { getByName: () => ({ load: () => Promise.reject(error), saveIfAbsent: () => Promise.reject(error) }) },
  }) as unknown as Env

// First in this file, so that this module's Worker has built no app yet: its first request builds it.
describe('finding 80: a failing key object while an isolate builds its app', () => {
  it("finding 80: answers the isolate's first request with the JSON 503 and Retry-After when the key object is unreachable, and builds the app at the next", async () => {
    const unreachable = Object.assign(new Error('Network connection lost.'), { retryable: true })
    const request = () =>
      new Request(`${ORIGIN}/v1/rendezvous`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': '192.0.2.183' },
        body: '{"data":""}',
      }) as Parameters<typeof worker.fetch>[0]
    const res = await worker.fetch(request(), failingKeys(unreachable), createExecutionContext())
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(await res.json()).toEqual({ errcode: 'M_UNKNOWN', error: 'the service is unavailable', qrelay_code: 'UNAVAILABLE' })
    // The failed build is not kept: once the object answers, the same isolate serves.
    expect((await worker.fetch(request(), env as Parameters<typeof worker.fetch>[1], createExecutionContext())).status).toBe(200)
  })
})

/** A native channel made through the Worker (its id verifies under the deployment's id key). */
const createChannel = async (ip: string): Promise<string> => {
  const res = await SELF.fetch(`${ORIGIN}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
    body: JSON.stringify({ data: '' }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { id: string }).id
}

/** The bindings with the channel namespace replaced by one whose objects throw `error` on every call. */
const failingChannels = (error: Error): Env =>
  ({
    ...env,
    RELAY_CHANNEL: { getByName: () => ({ fetch: () => Promise.reject(error) }) },
  }) as unknown as Env

/** An upgrade of channel `id` as the Worker's fetch handler gets it. */
const upgrade = (id: string): Parameters<typeof worker.fetch>[0] =>
  new Request(`${ORIGIN}/v1/rendezvous/${id}/ws`, {
    headers: { upgrade: 'websocket', 'cf-connecting-ip': '192.0.2.180' },
  }) as Parameters<typeof worker.fetch>[0]

describe('finding 80: a failing channel object under a WebSocket upgrade', () => {
  it('finding 80: answers an upgrade whose channel object is unreachable with the JSON 503 and Retry-After of the app, not an uncaught exception', async () => {
    const id = await createChannel('192.0.2.181')
    const unreachable = Object.assign(new Error('Network connection lost.'), { retryable: true })
    const res = await worker.fetch(upgrade(id), failingChannels(unreachable), createExecutionContext())
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ errcode: 'M_UNKNOWN', error: 'the service is unavailable', qrelay_code: 'UNAVAILABLE' })
  })

  it('finding 80: answers an overloaded channel object with 503 as well, and any other failure with the JSON 500 that quotes nothing', async () => {
    const id = await createChannel('192.0.2.182')
    const overloaded = Object.assign(new Error('Durable Object is overloaded. Too many requests queued.'), { overloaded: true })
    expect((await worker.fetch(upgrade(id), failingChannels(overloaded), createExecutionContext())).status).toBe(503)
    const res = await worker.fetch(upgrade(id), failingChannels(new Error(`secret ${id}`)), createExecutionContext())
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toContain(id)
    expect(JSON.parse(text)).toEqual({ errcode: 'M_UNKNOWN', error: 'internal error', qrelay_code: 'INTERNAL' })
  })
})
