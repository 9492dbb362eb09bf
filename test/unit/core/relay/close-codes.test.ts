import { describe, expect, it } from 'vitest'
import { CLOSE_CODES, closeForError } from '../../../../src/core/relay/close-codes.ts'

describe('CLOSE_CODES', () => {
  it('uses distinct codes, each valid for a server to send, with reasons that fit a close frame', () => {
    const codes = Object.values(CLOSE_CODES).map((c) => c.code)
    expect(new Set(codes).size).toBe(codes.length)
    for (const { code, reason } of Object.values(CLOSE_CODES)) {
      expect(code === 1000 || code === 1001 || code === 1003 || code === 1009 || code === 1011 || (code >= 4000 && code <= 4999)).toBe(true)
      expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123)
    }
  })
})

describe('closeForError', () => {
  it('maps service errors the way the HTTP API maps them to statuses', () => {
    expect(closeForError('NOT_FOUND').code).toBe(4404)
    expect(closeForError('CHANNEL_CLAIMED').code).toBe(4403)
    expect(closeForError('UNAUTHORIZED').code).toBe(4401)
    expect(closeForError('PAYLOAD_TOO_LARGE')).toEqual({ code: 1009, reason: 'payload too large' })
    expect(closeForError('INTERNAL')).toEqual(CLOSE_CODES.internal)
    expect(closeForError('UNAVAILABLE')).toEqual(CLOSE_CODES.internal)
  })

  it('puts the retry hint of a rate limit in the reason', () => {
    expect(closeForError('RATE_LIMITED', 1234.2)).toEqual({ code: 4429, reason: 'retry_after_ms=1235' })
    expect(closeForError('CAPACITY_EXCEEDED')).toEqual(CLOSE_CODES.rateLimited)
  })
})
