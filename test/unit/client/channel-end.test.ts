import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ChannelEnd, unlessGone } from '../../../src/client/channel-end.ts'
import { ClientError } from '../../../src/client/errors.ts'
import type { NativeApi } from '../../../src/client/native-api.ts'
import { wakeWithin } from '../../../src/client/platform.ts'

class TestEnd extends ChannelEnd {
  readonly kind = 'http' as const
  readonly expiresAtMs = 1234
}

describe('channel end', () => {
  it('prints its kind, role and expiry, never the channel id', () => {
    const end = new TestEnd({ api: {} as NativeApi, role: 'joiner', id: 'secret-channel-id', now: () => 0 })
    expect(end.channelId).toBe('secret-channel-id')
    expect(JSON.parse(JSON.stringify(end))).toEqual({ kind: 'http', role: 'joiner', expiresAtMs: 1234 })
    expect(inspect(end)).not.toContain('secret-channel-id')
  })

  it('treats a channel that is gone already as done, and rethrows every other error', async () => {
    await expect(unlessGone(() => Promise.reject(new ClientError('CHANNEL_GONE', { detail: 'gone' })))).resolves.toBeUndefined()
    await expect(unlessGone(() => Promise.reject(new ClientError('RATE_LIMITED', { detail: 'slow' })))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    })
    await expect(unlessGone(() => Promise.reject(new TypeError('boom')))).rejects.toBeInstanceOf(TypeError)
  })
})

describe('wakeWithin', () => {
  it('resolves on a wake, on the timeout or on an abort, whichever comes first', async () => {
    let wake: (() => void) | undefined
    const woken = wakeWithin(60_000, undefined, (w) => (wake = w))
    wake?.()
    await expect(woken).resolves.toBeUndefined()
    await expect(wakeWithin(1, undefined, () => {})).resolves.toBeUndefined()
    const controller = new AbortController()
    const aborted = wakeWithin(60_000, controller.signal, () => {})
    controller.abort()
    await expect(aborted).resolves.toBeUndefined()
  })
})
