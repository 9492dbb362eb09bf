/**
 * A rendezvous channel: one small text payload slot that two devices take turns to overwrite, with a
 * write token that changes on every write and a hard expiry. The record and its pure transitions.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (2024 ETag API)
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4388 (sequence tokens)
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { fail, ok, type Result } from '../errors.ts'
import { toBase64Url } from '../crypto/secrets.ts'

/** Which public API created the channel; a channel is served only on its own API's paths. */
export type RendezvousApi = 'msc4108' | 'msc4388' | 'native'

/** The stored channel. Fields are short-lived and small: a pending channel must cost well under 1 KiB. */
export interface ChannelRecord {
  /** Public opaque id (bearer value: never logged). */
  id: string
  api: RendezvousApi
  /** The current payload, as text. */
  data: string
  /** Number of data writes so far (0 after create). */
  version: number
  /** Current write token: the ETag value (2024) or `sequence_token` (MSC4388); changes on every write. */
  token: string
  /** Store revision for compare-and-swap: bumps on every change, including a native claim. */
  rev: number
  createdAtMs: number
  updatedAtMs: number
  expiresAtMs: number
  /** Native only: sha256 of the creator's secret. */
  creatorSecretHash?: string
  /** Native only: sha256 of the joiner's secret, once a second party has claimed the channel. */
  joinerSecretHash?: string
  /** Network key (see `rateKeyOf`) of the creator, for abuse accounting and the channel ticket. */
  creatorNetwork?: string
  /** Network key of the joiner, once claimed: a check-code mismatch counts a strike against it. */
  joinerNetwork?: string
  /** Autonomous system of the creator, when a locator knew it (abuse counters per ASN). */
  creatorAsn?: number
}

const encoder = new TextEncoder()

/**
 * SHA-256 of a text's UTF-8 bytes (a lone surrogate encodes as U+FFFD, as TextEncoder and node:crypto do).
 * A runtime may attach `token`: the finished {@link writeToken} of a preimage (the first 128 bits of its
 * SHA-256, base64url), same text, for a native hash that encodes faster than the core can.
 */
export type TextSha256 = ((text: string) => Uint8Array) & { readonly token?: (preimage: string) => string }

/** The portable {@link TextSha256} (pure JS, @noble/hashes); a runtime may pass a native one, same bytes. */
export const portableTextSha256: TextSha256 = (text) => sha256(encoder.encode(text))

/**
 * The write token that replaces `previous` (the token being overwritten; '' at create) when `data` is
 * written to channel `id`: 128 bits of SHA-256(id ‖ 0 ‖ previous ‖ 0 ‖ data), base64url. Each token
 * chains on the one before it, so identical payloads at different versions get distinct tokens (as
 * MSC4108 asks of ETags and MSC4388 of sequence tokens), and a writer's next token is known before the
 * record is read (a store can compare and set in one step).
 */
export const writeToken = (id: string, previous: string, data: string, hash: TextSha256 = portableTextSha256): string => {
  const preimage = `${id}\u0000${previous}\u0000${data}`
  return hash.token === undefined ? toBase64Url(hash(preimage).subarray(0, 16)) : hash.token(preimage)
}

/** Size of a payload in UTF-8 bytes: the unit of every payload limit. */
export const payloadBytes = (data: string): number => encoder.encode(data).length

/** Input of {@link createChannel}. */
export interface NewChannel {
  id: string
  api: RendezvousApi
  data: string
  now: number
  ttlMs: number
  creatorSecretHash?: string
  creatorNetwork?: string
  creatorAsn?: number
  /** The SHA-256 of {@link writeToken} (default: the portable one). */
  hash?: TextSha256
}

/**
 * A fresh channel at version 0.
 *
 * @example
 * const rec = createChannel({ id, api: 'msc4388', data: '', now: clock.now(), ttlMs: 120_000 })
 */
export const createChannel = (input: NewChannel): ChannelRecord => {
  const record: ChannelRecord = {
    id: input.id,
    api: input.api,
    data: input.data,
    version: 0,
    token: writeToken(input.id, '', input.data, input.hash),
    rev: 0,
    createdAtMs: input.now,
    updatedAtMs: input.now,
    expiresAtMs: input.now + input.ttlMs,
  }
  if (input.creatorSecretHash !== undefined) record.creatorSecretHash = input.creatorSecretHash
  if (input.creatorNetwork !== undefined) record.creatorNetwork = input.creatorNetwork
  if (input.creatorAsn !== undefined) record.creatorAsn = input.creatorAsn
  return record
}

/** True while the channel has not reached its expiry. */
export const isLive = (record: ChannelRecord, now: number): boolean => now < record.expiresAtMs

/** Milliseconds left before expiry (never negative). */
export const remainingMs = (record: ChannelRecord, now: number): number => Math.max(0, record.expiresAtMs - now)

/** Input of {@link writeChannel}. */
export interface ChannelWrite {
  data: string
  /** The token the writer last saw (If-Match value or `sequence_token`). */
  expectedToken: string
  now: number
  /**
   * MSC4388 retry rule: a stale token with data byte-identical to the current payload succeeds
   * without advancing (the writer's earlier attempt already landed). Off for the 2024 API.
   */
  idempotentRetry: boolean
  /** The SHA-256 of {@link writeToken} (default: the portable one). */
  hash?: TextSha256
}

/** The detail of a refused write's CONCURRENT_WRITE. */
export const STALE_TOKEN = 'the write token is stale'

/** What a successful write produced: the record to store, and whether anything changed. */
export interface WriteOutcome {
  record: ChannelRecord
  changed: boolean
}

/**
 * Compare-and-swap on the write token. A match stores `data` under a new token; a mismatch fails
 * with CONCURRENT_WRITE unless it is an idempotent retry.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4388 (PUT semantics)
 */
export const writeChannel = (record: ChannelRecord, write: ChannelWrite): Result<WriteOutcome, 'CONCURRENT_WRITE'> => {
  if (write.expectedToken !== record.token) {
    // Synapse narrows this to "token == the previous token"; the MSC text does not, and an identical
    // payload leaves the channel in the state the retrying writer wanted either way.
    if (write.idempotentRetry && write.data === record.data) return ok({ record, changed: false })
    return fail('CONCURRENT_WRITE', STALE_TOKEN)
  }
  const version = record.version + 1
  return ok({
    record: {
      ...record,
      data: write.data,
      version,
      token: writeToken(record.id, record.token, write.data, write.hash),
      rev: record.rev + 1,
      updatedAtMs: write.now,
    },
    changed: true,
  })
}

/**
 * A write of the Matrix APIs (no parties) with its next token worked out in advance: the same
 * compare-and-swap on the write token as {@link writeChannel}, decided by {@link decideTokenWrite}.
 */
export interface TokenWrite {
  /** The API the channel must be of (a channel of another API is missing). */
  api: RendezvousApi
  data: string
  /** The token the writer last saw. */
  expectedToken: string
  /** The token a successful write stores: `writeToken(id, expectedToken, data)`, known before any read. */
  nextToken: string
  now: number
  /** A stale token with data identical to the current payload succeeds without a change (MSC4388). */
  idempotentRetry: boolean
}

/**
 * The {@link TokenWrite} of `data` over a Matrix API's channel `id`, its next token worked out now;
 * MSC4388 (not MSC4108) lets a stale token with the current payload succeed.
 */
export const matrixTokenWrite = (
  api: Exclude<RendezvousApi, 'native'>,
  id: string,
  data: string,
  expectedToken: string,
  now: number,
  hash?: TextSha256,
): TokenWrite => ({
  api,
  data,
  expectedToken,
  nextToken: writeToken(id, expectedToken, data, hash),
  now,
  idempotentRetry: api !== 'msc4108',
})

/** A refused or settled {@link TokenWrite}: `unchanged` is an idempotent retry, `stale` a refusal. */
export type TokenWriteVerdict =
  | { outcome: 'unchanged'; record: ChannelRecord }
  | { outcome: 'stale'; record: ChannelRecord }
  | { outcome: 'missing' }

/**
 * `write` decided on the live `record` (null: none): the record to store when the token matches (what
 * {@link writeChannel} builds), else the verdict.
 */
export const decideTokenWrite = (record: ChannelRecord | null, write: TokenWrite): ChannelRecord | TokenWriteVerdict => {
  if (record === null || record.api !== write.api) return { outcome: 'missing' }
  if (write.expectedToken !== record.token) {
    return write.idempotentRetry && write.data === record.data ? { outcome: 'unchanged', record } : { outcome: 'stale', record }
  }
  return { ...record, data: write.data, version: record.version + 1, token: write.nextToken, rev: record.rev + 1, updatedAtMs: write.now }
}
