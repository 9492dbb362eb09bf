/**
 * How the device SDK reads the relay's refusals: HTTP statuses and WebSocket close codes become the
 * same stable ClientError codes, and no detail echoes what the relay sent back.
 */
import { describe, expect, it } from 'vitest'
import { ClientError } from '../../../src/client/errors.ts'
import { errorOfResponse } from '../../../src/client/native-api.ts'
import { webRandom } from '../../../src/client/platform.ts'
import { errorOfClose } from '../../../src/client/ws-close.ts'

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('errorOfResponse', () => {
  it.each([
    [404, 'CHANNEL_GONE'],
    [403, 'REFUSED'],
    [401, 'REFUSED'],
    [409, 'CONCURRENT_WRITE'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [429, 'RATE_LIMITED'],
    [500, 'TRANSPORT_FAILED'],
  ])('maps status %i to %s', async (status, code) => {
    const error = await errorOfResponse(json(status, { errcode: 'M_X', error: 'secret-echo', qrelay_code: 'X' }))
    expect(error).toBeInstanceOf(ClientError)
    expect(error).toMatchObject({ code, status })
    expect(error.message).not.toContain('secret-echo')
  })

  it('keeps the retry hint of a 429', async () => {
    const error = await errorOfResponse(json(429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1500 }))
    expect(error.retryAfterMs).toBe(1500)
  })

  it('copes with a body that is not JSON', async () => {
    expect(await errorOfResponse(new Response('<html>', { status: 502 }))).toMatchObject({ code: 'TRANSPORT_FAILED', status: 502 })
  })
})

describe('errorOfClose', () => {
  it.each([
    [1000, 'done', 'CHANNEL_GONE'],
    [4404, 'deleted by the other party', 'CHANNEL_GONE'],
    [4403, 'refused', 'REFUSED'],
    [4410, 'expired', 'CHANNEL_EXPIRED'],
    [1009, 'payload too large', 'PAYLOAD_TOO_LARGE'],
    [4001, 'replaced by a newer connection', 'TRANSPORT_FAILED'],
    [1006, '', 'TRANSPORT_FAILED'],
  ])('maps close %i (%s) to %s', (code, reason, expected) => {
    expect(errorOfClose(code, reason).code).toBe(expected)
  })

  it('carries the abort reason of a 4409', () => {
    expect(errorOfClose(4409, 'check_code_mismatch')).toMatchObject({ code: 'ABORTED', abortReason: 'check_code_mismatch' })
  })

  it('reads the retry hint of a 4429', () => {
    expect(errorOfClose(4429, 'retry_after_ms=2500')).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 2500 })
  })
})

describe('webRandom', () => {
  it('fills requests above the Web Crypto 64 KiB limit', () => {
    const bytes = webRandom().bytes(70_000)
    expect(bytes).toHaveLength(70_000)
    expect(bytes.subarray(66_000).some((b) => b !== 0)).toBe(true)
  })
})
