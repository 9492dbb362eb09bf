import { describe, expect, it } from 'vitest'
import { decodeChannelEvent, encodeChannelEvent, type ChannelEvent } from '../../../../src/core/relay/channel-event.ts'

describe('channel events', () => {
  const events: ChannelEvent[] = [
    { type: 'written', token: 'tok', by: 'creator' },
    { type: 'deleted', by: 'joiner' },
    { type: 'aborted', by: 'joiner', reason: 'check_code_mismatch' },
    { type: 'attached', role: 'creator', conn: 'c1' },
  ]

  it.each(events)('round-trips $type', (event) => {
    expect(decodeChannelEvent(encodeChannelEvent(event))).toEqual(event)
  })

  it.each([
    'not json',
    'null',
    '{"type":"written","token":"t"}',
    '{"type":"written","token":"","by":"creator"}',
    '{"type":"deleted","by":"stranger"}',
    '{"type":"aborted","by":"joiner","reason":"bored"}',
    '{"type":"attached","role":"joiner"}',
    '{"type":"resync"}',
    '{"type":"future-thing"}',
  ])('ignores a malformed or unknown message: %s', (text) => {
    expect(decodeChannelEvent(text)).toBeNull()
  })

  it('keeps only the known fields', () => {
    expect(decodeChannelEvent('{"type":"deleted","by":"creator","data":"payload"}')).toEqual({ type: 'deleted', by: 'creator' })
  })
})
