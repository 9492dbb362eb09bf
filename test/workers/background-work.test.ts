/**
 * Work a request starts without awaiting it (the publish that tells a channel's sockets of an HTTP
 * write, a device's last-seen touch) is handed to the request's `waitUntil`, so that Workers does not
 * cancel it once the response is returned (`src/runtime/workers-background.ts`).
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../src/runtime/workers.ts'
import { backgroundWork } from '../../src/runtime/workers-background.ts'

const ORIGIN = 'https://relay.example'

type WorkerRequest = Parameters<typeof worker.fetch>[0]
type WorkerEnv = Parameters<typeof worker.fetch>[1]

/** An execution context that records what it is handed. */
const recordingContext = () => {
  const ctx = createExecutionContext()
  const handed: Promise<unknown>[] = []
  const waitUntil = ctx.waitUntil.bind(ctx)
  ctx.waitUntil = (work: Promise<unknown>) => {
    handed.push(work)
    waitUntil(work)
  }
  return { ctx, handed }
}

describe('background work on Workers', () => {
  it('keeps a pending promise alive until it settles, and hands nothing when nothing is pending', async () => {
    const background = backgroundWork()
    const quiet = recordingContext()
    background.keepAlive(quiet.ctx)
    expect(quiet.handed).toEqual([])
    let finish = (): void => {}
    const work = background.track(new Promise<string>((resolve) => (finish = () => resolve('done'))))
    const failing = background.track(Promise.reject(new Error('publish failed')))
    await expect(failing).rejects.toThrow('publish failed')
    expect(background.pending).toBe(1)
    const busy = recordingContext()
    background.keepAlive(busy.ctx)
    expect(busy.handed).toHaveLength(1)
    let kept = false
    void busy.handed[0]?.then(() => (kept = true))
    await Promise.resolve()
    expect(kept).toBe(false)
    finish()
    expect(await work).toBe('done')
    await busy.handed[0]
    expect(kept).toBe(true)
    expect(background.pending).toBe(0)
  })

  it("hands an HTTP delete's publish to the channel's sockets to the request's waitUntil, until it is done", async () => {
    // The channel namespace with its objects' publish held at a gate (everything else as it is). This
    // file's first Worker request: the app is built with these bindings.
    let open = (): void => {}
    let gate = Promise.resolve()
    let published = 0
    const channels = env.RELAY_CHANNEL
    const gated = {
      getByName: (name: string) => {
        const stub = channels.getByName(name) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
        return new Proxy(stub, {
          get: (target, key) =>
            key === 'publish'
              ? async (...args: unknown[]) => {
                  await gate
                  const done = await target.publish!(...args)
                  published++
                  return done
                }
              : (...args: unknown[]) => target[key as string]!(...args),
        })
      },
    }
    const bindings = { ...env, RELAY_CHANNEL: gated } as unknown as WorkerEnv
    const create = new Request(`${ORIGIN}/v1/rendezvous`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': '192.0.2.190' },
      body: '{"data":""}',
    }) as WorkerRequest
    const created = await worker.fetch(create, bindings, createExecutionContext())
    expect(created.status).toBe(200)
    const { id, creator_secret: secret } = (await created.json()) as { id: string; creator_secret: string }
    gate = new Promise<void>((resolve) => (open = resolve))
    const { ctx, handed } = recordingContext()
    const remove = new Request(`${ORIGIN}/v1/rendezvous/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${secret}`, 'cf-connecting-ip': '192.0.2.190' },
    }) as WorkerRequest
    const res = await worker.fetch(remove, bindings, ctx)
    expect(res.status).toBeLessThan(300)
    // Answered while the publish waits: what the request handed to waitUntil waits for it.
    expect(published).toBe(0)
    let kept = true
    void Promise.all(handed).then(() => (kept = false))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(kept).toBe(true)
    open()
    await waitOnExecutionContext(ctx)
    expect(published).toBe(1)
    expect(kept).toBe(false)
  })
})
