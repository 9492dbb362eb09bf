import { describe, expect, it } from 'vitest'
import { encodeServerFrame, maxFrameBytes, parseClientFrame } from '../../../../src/core/relay/ws-protocol.ts'

describe('parseClientFrame', () => {
  it('reads a hello with a secret, and one without as a claim', () => {
    expect(parseClientFrame('{"type":"hello","secret":"s3cret"}')).toEqual({ ok: true, value: { type: 'hello', secret: 's3cret' } })
    expect(parseClientFrame('{"type":"hello"}')).toEqual({ ok: true, value: { type: 'hello', secret: null } })
    expect(parseClientFrame('{"type":"hello","secret":null}')).toEqual({ ok: true, value: { type: 'hello', secret: null } })
  })

  it('reads a put into camelCase fields', () => {
    expect(parseClientFrame('{"type":"put","sequence_token":"t1","data":""}')).toEqual({
      ok: true,
      value: { type: 'put', sequenceToken: 't1', data: '' },
    })
  })

  it('reads ping, delete, and abort with user_cancelled as the default reason', () => {
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ ok: true, value: { type: 'ping' } })
    expect(parseClientFrame('{"type":"delete"}')).toEqual({ ok: true, value: { type: 'delete' } })
    expect(parseClientFrame('{"type":"abort"}')).toEqual({ ok: true, value: { type: 'abort', reason: 'user_cancelled' } })
    expect(parseClientFrame('{"type":"abort","reason":"check_code_mismatch"}')).toEqual({
      ok: true,
      value: { type: 'abort', reason: 'check_code_mismatch' },
    })
  })

  it.each([
    ['not JSON', 'hello'],
    ['not an object', '[1,2]'],
    ['not an object', 'null'],
    ['unknown type', '{"type":"subscribe"}'],
    ['unknown type', '{}'],
    ['bad secret', '{"type":"hello","secret":42}'],
    ['bad secret', '{"type":"hello","secret":""}'],
    ['put needs sequence_token', '{"type":"put","data":"x"}'],
    ['put needs data', '{"type":"put","sequence_token":"t"}'],
    ['bad abort reason', '{"type":"abort","reason":"bored"}'],
  ])('refuses with "%s" when the frame is %s', (detail, text) => {
    expect(parseClientFrame(text)).toEqual({ ok: false, code: 'INVALID_PARAM', detail })
  })

  it('never echoes the input in its detail', () => {
    const result = parseClientFrame('{"type":"hello","secret":' + JSON.stringify('x'.repeat(600)) + '}')
    expect(result.ok).toBe(false)
    expect(JSON.stringify(result)).not.toContain('xxxx')
  })
})

describe('encodeServerFrame', () => {
  it('writes snake_case wire fields, joiner_secret only when given', () => {
    const base = { type: 'welcome', role: 'joiner', data: 'd', sequenceToken: 't', expiresInMs: 5 } as const
    expect(JSON.parse(encodeServerFrame(base))).toEqual({
      type: 'welcome',
      role: 'joiner',
      data: 'd',
      sequence_token: 't',
      expires_in_ms: 5,
    })
    expect(JSON.parse(encodeServerFrame({ ...base, joinerSecret: 'js' }))).toMatchObject({ joiner_secret: 'js' })
  })

  it('writes ack, conflict, data and pong', () => {
    expect(encodeServerFrame({ type: 'ack', sequenceToken: 't' })).toBe('{"type":"ack","sequence_token":"t"}')
    expect(encodeServerFrame({ type: 'conflict', sequenceToken: 't' })).toBe('{"type":"conflict","sequence_token":"t"}')
    expect(encodeServerFrame({ type: 'data', data: 'é"', sequenceToken: 't' })).toBe('{"type":"data","data":"é\\"","sequence_token":"t"}')
    expect(encodeServerFrame({ type: 'pong' })).toBe('{"type":"pong"}')
  })
})

describe('maxFrameBytes', () => {
  it('leaves room for a payload whose every byte is escaped, plus the envelope', () => {
    const payload = '\u0001'.repeat(4096)
    const frame = JSON.stringify({ type: 'put', sequence_token: 'x'.repeat(22), data: payload })
    expect(new TextEncoder().encode(frame).length).toBeLessThanOrEqual(maxFrameBytes(4096))
  })
})
