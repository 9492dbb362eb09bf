import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeServerFrame, jsonString, parseClientFrame, readPutFrame } from '../../../../src/core/relay/ws-protocol.ts'

// Any UTF-16 code unit (lone surrogates included), with the characters JSON treats specially often.
const unit = fc.oneof(
  fc.constantFrom('"', '\\', '\u0000', '\u001f', '\n', '}', '{', ',', ':', ' ', '\ud800', '\udc00', 'é', '😀', 'A'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
)
const text = fc.string({ unit, maxLength: 40 })
const tokenText = fc.oneof(text, fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/))

/** Put frames as clients write them, in other spellings, and damaged. */
const putFrames = fc.oneof(
  fc.tuple(tokenText, text).map(([t, d]) => JSON.stringify({ type: 'put', sequence_token: t, data: d })),
  fc.tuple(tokenText, text).map(([t, d]) => JSON.stringify({ type: 'put', data: d, sequence_token: t })),
  fc.tuple(tokenText, text, text).map(([t, d, x]) => JSON.stringify({ type: 'put', sequence_token: t, data: d, extra: x })),
  fc.tuple(tokenText, text).map(([t, d]) => `{"type":"put","sequence_token":${JSON.stringify(t)},"sequence_token":${JSON.stringify(d)}}`),
  fc.tuple(tokenText, text).map(([t, d]) => `{"type":"put","data":${JSON.stringify(t)},"data":${JSON.stringify(d)}}`),
  fc
    .tuple(tokenText, text)
    .map(([t, d]) => `{"type":"put","sequence_token":${JSON.stringify(t)},"data":${JSON.stringify(d)},"type":"ping"}`),
  fc
    .tuple(tokenText, fc.oneof(fc.integer(), fc.constant(null), fc.constant([])))
    .map(([t, d]) => JSON.stringify({ type: 'put', sequence_token: t, data: d })),
)
const damaged = fc
  .tuple(putFrames, fc.nat(), unit, fc.constantFrom('insert', 'delete', 'truncate', 'replace'))
  .map(([frame, at, c, how]) => {
    const i = at % (frame.length + 1)
    if (how === 'insert') return frame.slice(0, i) + c + frame.slice(i)
    if (how === 'delete') return frame.slice(0, i) + frame.slice(i + 1)
    if (how === 'truncate') return frame.slice(0, i)
    return frame.slice(0, i) + c + frame.slice(i + 1)
  })
const frames = fc.oneof(putFrames, damaged, fc.string({ unit, maxLength: 80 }))

const RUNS = { numRuns: 3000 }

describe('readPutFrame', () => {
  it('reads a frame only as JSON.parse does: a put object with exactly these two string fields', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        const read = readPutFrame(frame)
        if (read === null) return
        expect(JSON.parse(frame)).toStrictEqual({ type: 'put', sequence_token: read.sequenceToken, data: read.data })
        expect(Object.keys(JSON.parse(frame))).toHaveLength(3)
      }),
      RUNS,
    )
  })

  it('reads the compact frames clients send whose strings need no escape', () => {
    fc.assert(
      fc.property(tokenText, text, fc.boolean(), (token, data, tokenFirst) => {
        const frame = JSON.stringify(
          tokenFirst ? { type: 'put', sequence_token: token, data } : { type: 'put', data, sequence_token: token },
        )
        const plain = JSON.stringify(token) === `"${token}"` && JSON.stringify(data) === `"${data}"`
        expect(readPutFrame(frame)).toStrictEqual(plain ? { type: 'put', sequenceToken: token, data } : null)
      }),
      RUNS,
    )
  })
})

describe('parseClientFrame', () => {
  it('answers every frame as the full JSON parse does (a leading space always takes the full parse)', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        expect(parseClientFrame(frame)).toStrictEqual(parseClientFrame(` ${frame}`))
      }),
      RUNS,
    )
  })
})

describe('encodeServerFrame', () => {
  it('writes ack, conflict and data exactly as JSON.stringify writes their wire objects', () => {
    fc.assert(
      fc.property(text, text, (token, data) => {
        expect(encodeServerFrame({ type: 'ack', sequenceToken: token })).toBe(JSON.stringify({ type: 'ack', sequence_token: token }))
        expect(encodeServerFrame({ type: 'conflict', sequenceToken: token })).toBe(
          JSON.stringify({ type: 'conflict', sequence_token: token }),
        )
        expect(encodeServerFrame({ type: 'data', data, sequenceToken: token })).toBe(
          JSON.stringify({ type: 'data', data, sequence_token: token }),
        )
      }),
      RUNS,
    )
  })
})

describe('jsonString', () => {
  it('is JSON.stringify of any string: plain, long, with specials, surrogates (paired or lone), any code unit', () => {
    const anyText = fc.oneof(
      text,
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.stringMatching(/^[ -~]{0,300}$/),
      fc.tuple(fc.stringMatching(/^[ -~]{0,150}$/), unit, fc.stringMatching(/^[ -~]{0,150}$/)).map(([a, u, b]) => a + u + b),
    )
    fc.assert(
      fc.property(anyText, (value) => {
        expect(jsonString(value)).toBe(JSON.stringify(value))
      }),
      { numRuns: 2000 },
    )
    for (const value of ['', '\u2028\u2029', '\u007f', 'é€', '😀', '\ud83d', 'a\nb', '</script>'])
      expect(jsonString(value)).toBe(JSON.stringify(value))
  })
})
