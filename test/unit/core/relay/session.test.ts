import { describe, expect, it } from 'vitest'
import {
  nextDeadline,
  onAck,
  onBinary,
  onConflict,
  onEnded,
  onEvent,
  onFailure,
  onFlood,
  onFrame,
  onPing,
  onRecord,
  onResync,
  onShutdown,
  onTick,
  onWelcome,
  openSession,
  type SessionLimits,
  type SessionState,
} from '../../../../src/core/relay/session.ts'
import { fakeClock } from '../../../helpers/fake-clock.ts'

const limits: SessionLimits = { helloTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxFrameBytes: 200 }
const T0 = Date.UTC(2026, 0, 1)
const record = { data: 'offer', token: 't0', expiresAtMs: T0 + 120_000 }

/** A joined session of `role` at T0 + 1 s, its welcome already sent. */
const joined = (role: 'creator' | 'joiner' = 'creator', conn = 'me'): SessionState => {
  const hello = onFrame(openSession(T0), '{"type":"hello","secret":"s"}', T0, limits)
  return onWelcome(hello.state, { role, conn, record }, T0 + 1000).state
}

describe('session: hello', () => {
  it('asks the service to check the hello, and sends nothing yet', () => {
    const step = onFrame(openSession(T0), '{"type":"hello"}', T0 + 5, limits)
    expect(step.command).toEqual({ type: 'hello', secret: null })
    expect(step.send).toEqual([])
    expect(step.state.kind).toBe('awaiting-hello')
  })

  it('welcomes with the record, the role, and the joiner secret of a claim', () => {
    const step = onWelcome(openSession(T0), { role: 'joiner', conn: 'c', joinerSecret: 'js', record }, T0 + 20_000)
    expect(step.send).toEqual([
      { type: 'welcome', role: 'joiner', joinerSecret: 'js', data: 'offer', sequenceToken: 't0', expiresInMs: 100_000 },
    ])
    expect(step.state).toMatchObject({ kind: 'joined', role: 'joiner', knownToken: 't0', attachSeen: false })
    expect(JSON.stringify(step.state)).not.toContain('js')
  })

  it('closes 4404 when the record vanished before the welcome, 4410 when it expired', () => {
    expect(onWelcome(openSession(T0), { role: 'creator', conn: 'c', record: null }, T0).close?.code).toBe(4404)
    expect(onWelcome(openSession(T0), { role: 'creator', conn: 'c', record }, record.expiresAtMs).close?.code).toBe(4410)
  })

  it('closes 4401 on any frame but hello or ping first', () => {
    const put = onFrame(openSession(T0), '{"type":"put","sequence_token":"t","data":"x"}', T0, limits)
    expect(put.close).toEqual({ code: 4401, reason: 'hello expected' })
    expect(onFrame(openSession(T0), '{"type":"ping"}', T0, limits).send).toEqual([{ type: 'pong' }])
  })

  it('closes 4400 on a second hello', () => {
    expect(onFrame(joined(), '{"type":"hello"}', T0 + 2000, limits).close).toEqual({ code: 4400, reason: 'bad frame: hello already done' })
  })

  it('closes 4401 with "hello timeout" once the hello timeout passed', () => {
    const state = openSession(T0)
    expect(nextDeadline(state, limits)).toBe(T0 + 10_000)
    expect(onTick(state, T0 + 9_999, limits).close).toBeUndefined()
    expect(onTick(state, T0 + 10_000, limits).close).toEqual({ code: 4401, reason: 'hello timeout' })
  })
})

describe('session: frames', () => {
  it('turns a put into a command and its outcome into ack or conflict', () => {
    const step = onFrame(joined(), '{"type":"put","sequence_token":"t0","data":"hi"}', T0 + 2000, limits)
    expect(step.command).toEqual({ type: 'put', sequenceToken: 't0', data: 'hi' })
    const ack = onAck(step.state, 't1', T0 + 2001)
    expect(ack.send).toEqual([{ type: 'ack', sequenceToken: 't1' }])
    expect(ack.state).toMatchObject({ knownToken: 't1' })
    // The conflicting record unknown to this socket: its data follows the conflict, and counts as sent.
    const missed = onConflict(step.state, { data: 'answer', token: 't9', expiresAtMs: record.expiresAtMs }, T0 + 2001)
    expect(missed.send).toEqual([
      { type: 'conflict', sequenceToken: 't9' },
      { type: 'data', data: 'answer', sequenceToken: 't9' },
    ])
    expect(missed.state).toMatchObject({ knownToken: 't9', lastActivityMs: T0 + 2001 })
    expect(onRecord(missed.state, { data: 'answer', token: 't9', expiresAtMs: record.expiresAtMs }, T0 + 2002).send).toEqual([])
    // Already forwarded (the usual case): the conflict alone.
    const heard = onRecord(step.state, { data: 'answer', token: 't9', expiresAtMs: record.expiresAtMs }, T0 + 2001)
    expect(onConflict(heard.state, { data: 'answer', token: 't9', expiresAtMs: record.expiresAtMs }, T0 + 2002).send).toEqual([
      { type: 'conflict', sequenceToken: 't9' },
    ])
  })

  it('answers a ping with a pong', () => {
    expect(onFrame(joined(), '{"type":"ping"}', T0 + 2000, limits).send).toEqual([{ type: 'pong' }])
  })

  it('closes 1009 above the frame limit, counting UTF-8 bytes', () => {
    const ascii = JSON.stringify({ type: 'put', sequence_token: 't0', data: 'x'.repeat(150) })
    expect(onFrame(joined(), ascii, T0, limits).close).toBeUndefined()
    const wide = JSON.stringify({ type: 'put', sequence_token: 't0', data: '€'.repeat(60) })
    expect(wide.length).toBeLessThan(limits.maxFrameBytes)
    expect(onFrame(joined(), wide, T0, limits).close?.code).toBe(1009)
  })

  it('closes 4400 on a malformed frame, 1003 on a binary one', () => {
    expect(onFrame(joined(), '{"type":', T0, limits).close).toEqual({ code: 4400, reason: 'bad frame: not JSON' })
    expect(onBinary(joined()).close?.code).toBe(1003)
  })

  it('turns delete and abort into commands, and their success into a 1000 close', () => {
    expect(onFrame(joined(), '{"type":"delete"}', T0, limits).command).toEqual({ type: 'delete' })
    expect(onFrame(joined(), '{"type":"abort","reason":"protocol_error"}', T0, limits).command).toEqual({
      type: 'abort',
      reason: 'protocol_error',
    })
    expect(onEnded(joined()).close).toEqual({ code: 1000, reason: 'done' })
  })

  it('maps a failed command to its close code', () => {
    expect(onFailure(joined(), 'RATE_LIMITED', 2000).close).toEqual({ code: 4429, reason: 'retry_after_ms=2000' })
    expect(onFailure(openSession(T0), 'CHANNEL_CLAIMED').close?.code).toBe(4403)
    expect(onFlood(joined()).close?.code).toBe(4429)
  })
})

describe('session: pushes', () => {
  it('forwards a record whose token the client does not know', () => {
    const step = onRecord(joined(), { data: 'answer', token: 't1', expiresAtMs: record.expiresAtMs }, T0 + 3000, {
      token: 't1',
      by: 'joiner',
    })
    expect(step.send).toEqual([{ type: 'data', data: 'answer', sequenceToken: 't1' }])
    expect(onRecord(step.state, { data: 'answer', token: 't1', expiresAtMs: 0 }, T0 + 3001).send).toEqual([])
  })

  it('never sends a party its own write, whatever the transport', () => {
    const own = onRecord(joined('creator'), { data: 'mine', token: 't1', expiresAtMs: 0 }, T0 + 3000, { token: 't1', by: 'creator' })
    expect(own.send).toEqual([])
    expect(own.state).toMatchObject({ knownToken: 't1' })
  })

  it('forwards a newer record even when the event was its own older write', () => {
    const step = onRecord(joined('creator'), { data: 'peer', token: 't2', expiresAtMs: 0 }, T0 + 3000, { token: 't1', by: 'creator' })
    expect(step.send).toEqual([{ type: 'data', data: 'peer', sequenceToken: 't2' }])
  })

  it('closes 4404 when the record is gone before its expiry, 4410 after it', () => {
    expect(onRecord(joined(), null, T0 + 3000).close?.code).toBe(4404)
    expect(onRecord(joined(), null, record.expiresAtMs).close?.code).toBe(4410)
  })

  it('closes 4404 or 4409 when the other party deletes or aborts, 1000 when its own party did', () => {
    expect(onEvent(joined('creator'), { type: 'deleted', by: 'joiner' }).close).toEqual({
      code: 4404,
      reason: 'deleted by the other party',
    })
    expect(onEvent(joined('creator'), { type: 'aborted', by: 'joiner', reason: 'check_code_mismatch' }).close).toEqual({
      code: 4409,
      reason: 'check_code_mismatch',
    })
    expect(onEvent(joined('creator'), { type: 'deleted', by: 'creator' }).close?.code).toBe(1000)
  })
})

describe('session: one socket per party', () => {
  it('is replaced (4001) by an attach of its role heard after its own', () => {
    const armed = onEvent(joined('creator', 'a'), { type: 'attached', role: 'creator', conn: 'a' }).state
    expect(onEvent(armed, { type: 'attached', role: 'joiner', conn: 'j' }).close).toBeUndefined()
    expect(onEvent(armed, { type: 'attached', role: 'creator', conn: 'b' }).close).toEqual({
      code: 4001,
      reason: 'replaced by a newer connection',
    })
  })

  it('ignores an attach of its role heard before its own (that socket is older)', () => {
    expect(onEvent(joined('creator', 'b'), { type: 'attached', role: 'creator', conn: 'a' }).close).toBeUndefined()
  })

  it('treats every attach after a resync as newer', () => {
    const resynced = onResync(joined('creator', 'b')).state
    expect(onEvent(resynced, { type: 'attached', role: 'creator', conn: 'c' }).close?.code).toBe(4001)
  })
})

describe('session: time', () => {
  it('counts frames both ways and protocol pings as activity', () => {
    const idle: SessionLimits = { ...limits, idleTimeoutMs: 30_000 }
    const clock = fakeClock(T0 + 1000)
    let state = joined()
    clock.advance(20_000)
    state = onFrame(state, '{"type":"ping"}', clock.now(), idle).state
    clock.advance(20_000)
    state = onRecord(state, { data: 'x', token: 't5', expiresAtMs: 0 }, clock.now()).state
    clock.advance(29_999)
    expect(onTick(state, clock.now(), idle).close).toBeUndefined()
    state = onPing(state, clock.now()).state
    expect(nextDeadline(state, idle)).toBe(clock.now() + 30_000)
  })

  it('closes 4408 when nothing moves for the idle timeout', () => {
    const state = joined()
    expect(onTick(state, T0 + 1000 + 59_999, limits).close).toBeUndefined()
    expect(onTick(state, T0 + 1000 + 60_000, limits).close).toEqual({ code: 4408, reason: 'idle timeout' })
  })

  it('closes 4410 at the channel expiry, however busy', () => {
    const busy: SessionLimits = { ...limits, idleTimeoutMs: 3_600_000 }
    const state = joined()
    expect(nextDeadline(state, busy)).toBe(record.expiresAtMs)
    expect(onTick(state, record.expiresAtMs, busy).close).toEqual({ code: 4410, reason: 'expired' })
  })

  it('closes 1001 on shutdown, and does nothing more once closed', () => {
    const closed = onShutdown(joined())
    expect(closed.close).toEqual({ code: 1001, reason: 'server shutting down' })
    expect(nextDeadline(closed.state, limits)).toBeNull()
    expect(onFrame(closed.state, '{"type":"ping"}', T0, limits)).toEqual({ state: closed.state, send: [] })
    expect(onTick(closed.state, T0 + 10 ** 9, limits).close).toBeUndefined()
    expect(onAck(closed.state, 't', T0).send).toEqual([])
  })
})
