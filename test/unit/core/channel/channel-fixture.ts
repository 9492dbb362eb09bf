/** Shared setup for the secure-channel tests: fixed randomness and a full handshake in one call. */
import { hex } from '@scure/base'
import type { Random } from '../../../../src/ports.ts'
import type { EstablishedState, OfferedState, UnestablishedState, VerifiedScanner } from '../../../../src/core/channel/channel-state.ts'
import { acceptInitiate, acceptOk, createInitiate, startGenerator } from '../../../../src/core/channel/handshake.ts'
import type { Result } from '../../../../src/core/errors.ts'

/** A Random that returns the given bytes (repeated if asked for more): for known-answer tests. */
export const fixedRandom = (bytesHex: string): Random => {
  const bytes = hex.decode(bytesHex)
  return { bytes: (n) => Uint8Array.from({ length: n }, (_, i) => bytes[i % bytes.length] as number) }
}

/** The value of a Result, or a thrown error naming its code (test code only). */
export const unwrap = <T>(result: Result<T>): T => {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.detail ?? ''}`)
  return result.value
}

/** Every state and message of one run of the handshake. */
export interface Handshake {
  g0: UnestablishedState
  s1: OfferedState
  initiate: string
  g1: EstablishedState
  ok: string
  s2: VerifiedScanner
}

/** Runs the whole handshake between a fresh G and a fresh S. */
export const handshake = (gRandom: Random, sRandom: Random = gRandom): Handshake => {
  const g0 = startGenerator(gRandom)
  const { state: s1, message: initiate } = unwrap(createInitiate(sRandom, g0.ourPublicKey))
  const { state: g1, message: ok } = unwrap(acceptInitiate(g0, initiate))
  const s2 = unwrap(acceptOk(s1, ok))
  return { g0, s1, initiate, g1, ok, s2 }
}
