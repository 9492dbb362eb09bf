import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  createChannel,
  isLive,
  payloadBytes,
  portableTextSha256,
  remainingMs,
  type TextSha256,
  writeChannel,
  writeToken,
} from '../../../../src/core/rendezvous/channel.ts'

const T0 = 1_700_000_000_000
const fresh = (data = '') => createChannel({ id: 'chan-1', api: 'msc4388', data, now: T0, ttlMs: 120_000 })

describe('createChannel', () => {
  it('starts at version 0 with a token derived from id and data', () => {
    const record = fresh('hello')
    expect(record).toMatchObject({ version: 0, rev: 0, createdAtMs: T0, updatedAtMs: T0, expiresAtMs: T0 + 120_000 })
    expect(record.token).toBe(writeToken('chan-1', '', 'hello'))
  })

  it('makes tokens of 128 bits in the opaque-identifier grammar', () => {
    expect(fresh().token).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })
})

describe('writeToken', () => {
  it('is the first 128 bits of SHA-256 of id, previous token and data', () => {
    const expected = createHash('sha256').update('chan-1\u0000prev\u0000data').digest().subarray(0, 16).toString('base64url')
    expect(writeToken('chan-1', 'prev', 'data')).toBe(expected)
  })

  it('differs for identical data at different versions, and for different channels', () => {
    const first = writeToken('a', '', 'x')
    const second = writeToken('a', first, 'x')
    const third = writeToken('a', second, 'x')
    expect(new Set([first, second, third]).size).toBe(3)
    expect(writeToken('a', first, 'x')).not.toBe(writeToken('b', first, 'x'))
    expect(writeToken('a', first, 'x')).toBe(writeToken('a', first, 'x'))
  })

  it('does not let a field boundary shift produce the same token', () => {
    expect(writeToken('a1', '', '')).not.toBe(writeToken('a', '1', ''))
    expect(writeToken('a', 'b', 'c')).not.toBe(writeToken('a', 'bc', ''))
  })

  it("takes a runtime's finished token when the hash has one, and encodes the bytes itself otherwise", () => {
    const preimages: string[] = []
    const withToken: TextSha256 = Object.assign((text: string) => portableTextSha256(text), {
      token: (preimage: string) => {
        preimages.push(preimage)
        return 'runtime-token'
      },
    })
    expect(writeToken('chan-1', 'prev', 'data', withToken)).toBe('runtime-token')
    expect(preimages).toEqual(['chan-1\u0000prev\u0000data'])
    expect(writeToken('chan-1', 'prev', 'data', (text) => portableTextSha256(text))).toBe(writeToken('chan-1', 'prev', 'data'))
    const record = createChannel({ id: 'chan-1', api: 'msc4388', data: 'x', now: T0, ttlMs: 1, hash: withToken })
    expect(record.token).toBe('runtime-token')
  })

  it('is what a write stores, so the next token is known before the record is read', () => {
    const record = fresh('hello')
    const result = writeChannel(record, { data: 'one', expectedToken: record.token, now: T0 + 5, idempotentRetry: false })
    expect(result.ok && result.value.record.token).toBe(writeToken('chan-1', record.token, 'one'))
  })
})

describe('isLive / remainingMs', () => {
  it('is live strictly before the expiry instant', () => {
    const record = fresh()
    expect(isLive(record, T0 + 119_999)).toBe(true)
    expect(isLive(record, T0 + 120_000)).toBe(false)
    expect(remainingMs(record, T0 + 20_000)).toBe(100_000)
    expect(remainingMs(record, T0 + 500_000)).toBe(0)
  })
})

describe('payloadBytes', () => {
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(payloadBytes('abc')).toBe(3)
    expect(payloadBytes('€')).toBe(3)
    expect(payloadBytes('😀')).toBe(4)
  })
})

describe('writeChannel', () => {
  it('stores new data under a new token when the token matches', () => {
    const record = fresh()
    const result = writeChannel(record, { data: 'one', expectedToken: record.token, now: T0 + 5, idempotentRetry: false })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.value.changed).toBe(true)
    expect(result.value.record).toMatchObject({ data: 'one', version: 1, rev: 1, updatedAtMs: T0 + 5, expiresAtMs: record.expiresAtMs })
    expect(result.value.record.token).not.toBe(record.token)
  })

  it('changes the token even when the same data is written again', () => {
    const record = fresh('same')
    const result = writeChannel(record, { data: 'same', expectedToken: record.token, now: T0, idempotentRetry: true })
    expect(result.ok && result.value.changed && result.value.record.token !== record.token).toBe(true)
  })

  it('fails with CONCURRENT_WRITE on a stale token', () => {
    const record = fresh()
    const result = writeChannel(record, { data: 'x', expectedToken: 'stale', now: T0, idempotentRetry: false })
    expect(result).toMatchObject({ ok: false, code: 'CONCURRENT_WRITE' })
  })

  it('treats a stale token with byte-identical data as an idempotent retry when allowed', () => {
    const first = fresh()
    const written = writeChannel(first, { data: 'msg', expectedToken: first.token, now: T0, idempotentRetry: true })
    if (!written.ok) throw new Error('unexpected')
    const retry = writeChannel(written.value.record, { data: 'msg', expectedToken: first.token, now: T0 + 1, idempotentRetry: true })
    expect(retry).toEqual({ ok: true, value: { record: written.value.record, changed: false } })
  })

  it('refuses the identical-data retry on the 2024 API', () => {
    const record = fresh('msg')
    const retry = writeChannel(record, { data: 'msg', expectedToken: 'old', now: T0, idempotentRetry: false })
    expect(retry.ok).toBe(false)
  })

  it('refuses a stale token with different data even when retries are allowed', () => {
    const record = fresh('msg')
    const retry = writeChannel(record, { data: 'other', expectedToken: 'old', now: T0, idempotentRetry: true })
    expect(retry).toMatchObject({ ok: false, code: 'CONCURRENT_WRITE' })
  })
})
