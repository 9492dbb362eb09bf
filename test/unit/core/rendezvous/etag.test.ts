import { describe, expect, it } from 'vitest'
import { formatEtag, ifNoneMatchHits, parseIfMatch } from '../../../../src/core/rendezvous/etag.ts'

describe('formatEtag', () => {
  it('quotes the token as a strong ETag', () => {
    expect(formatEtag('abc_-1')).toBe('"abc_-1"')
  })
})

describe('parseIfMatch', () => {
  it('returns the token of a single strong ETag', () => {
    expect(parseIfMatch('"abc"')).toEqual({ ok: true, value: 'abc' })
    expect(parseIfMatch('  "abc"  ')).toEqual({ ok: true, value: 'abc' })
  })

  it('reports a missing header as MISSING_PARAM', () => {
    expect(parseIfMatch(undefined)).toMatchObject({ ok: false, code: 'MISSING_PARAM' })
    expect(parseIfMatch('')).toMatchObject({ ok: false, code: 'MISSING_PARAM' })
  })

  it.each(['W/"abc"', '"a", "b"', '*', 'abc', '"abc', '"a"b"'])('refuses %s as INVALID_PARAM', (header) => {
    expect(parseIfMatch(header)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})

describe('ifNoneMatchHits', () => {
  it('is false without a header', () => {
    expect(ifNoneMatchHits(undefined, 't')).toEqual({ ok: true, value: false })
  })

  it('hits on the current token, a list holding it, a weak form of it, or *', () => {
    expect(ifNoneMatchHits('"t"', 't')).toEqual({ ok: true, value: true })
    expect(ifNoneMatchHits('"x", "t"', 't')).toEqual({ ok: true, value: true })
    expect(ifNoneMatchHits('W/"t"', 't')).toEqual({ ok: true, value: true })
    expect(ifNoneMatchHits('*', 't')).toEqual({ ok: true, value: true })
  })

  it('misses on an older token', () => {
    expect(ifNoneMatchHits('"old"', 't')).toEqual({ ok: true, value: false })
  })

  it('refuses a malformed header', () => {
    expect(ifNoneMatchHits('t', 't')).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})
