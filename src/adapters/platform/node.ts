/**
 * Node implementations of the platform ports: the system clock, the OS random source, and a pino logger
 * (`node-log.ts`).
 * Only `src/runtime/*` builds them.
 */
import nodeCrypto, { createHash, createHmac, randomBytes, randomFillSync } from 'node:crypto'
import type { TextSha256 } from '../../core/rendezvous/channel.ts'
import type { Clock, Random } from '../../ports.ts'

/** Wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

const POOL_BYTES = 4096
const POOLED_MAX = 64
let pool = Buffer.alloc(0)
let poolOffset = 0

/**
 * Random bytes from the OS CSPRNG. Small requests (ids, secrets) are cut from a pool filled 4 KiB at
 * a time (one CSPRNG call per request id showed up at a few per cent of a request); each byte is
 * handed out once and zeroed in the pool as it leaves.
 */
export const cryptoRandom: Random = {
  bytes: (length) => {
    if (length > POOLED_MAX) return new Uint8Array(randomBytes(length))
    if (poolOffset + length > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES))
      poolOffset = 0
    }
    const out = new Uint8Array(pool.subarray(poolOffset, poolOffset + length))
    pool.fill(0, poolOffset, poolOffset + length)
    poolOffset += length
    return out
  },
}

/**
 * The keyed log hash of `src/core/crypto/secrets.ts` (`redactWith`), on node:crypto's native HMAC:
 * same output, a fraction of the cost on the request path.
 */
export const nodeRedactor =
  (key: Uint8Array) =>
  (value: string): string =>
    // The first 8 bytes as hex (16 characters): a string of its own, not a slice of the whole digest's hex.
    createHmac('sha256', key).update(value).digest().subarray(0, 8).toString('hex')

/**
 * HMAC-SHA-256 on node:crypto (native): the channel-id tag of `src/core/rendezvous/channel-id.ts`,
 * byte for byte the portable one (`test/unit/adapters/node-hmac.test.ts`).
 */
export const nodeHmacSha256 = (key: Uint8Array, data: Uint8Array): Uint8Array => createHmac('sha256', key).update(data).digest()

/** SHA-256 of a text's UTF-8 bytes through a `Hash` object: Node before `crypto.hash` (20.12). */
export const streamedTextSha256 = (text: string): Uint8Array => createHash('sha256').update(text, 'utf8').digest()

// Read off the module object: absent before Node 20.12, where a named import would fail to link.
const oneShotHash = (nodeCrypto as Partial<Pick<typeof nodeCrypto, 'hash'>>).hash

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** By character code: a base64url character with its low 4 bits cleared, the last character of 16 bytes' encoding. */
const ENDING_OF_16 = Array.from({ length: 128 }, () => 'A')
for (let i = 0; i < 64; i++) ENDING_OF_16[BASE64URL.charCodeAt(i)] = BASE64URL.charAt(i & 0x30)

/**
 * The write token of `src/core/rendezvous/channel.ts` from the base64url of the whole SHA-256: its first
 * 21 characters (126 bits), then the 22nd keeping only its top 2 bits, exactly the encoding of 16 bytes.
 */
const tokenOfDigest = (digest: string): string => {
  const token = digest.slice(0, 21) + ENDING_OF_16[digest.charCodeAt(21)]
  // Reading a character flattens the joined string in place: a stored token then holds 40 bytes of heap,
  // as one encoded in JavaScript does, not 128 (the join, the slice and the whole digest it points into).
  token.charCodeAt(0)
  return token
}

/** The finished write token of a preimage (`TextSha256['token']`) through a `Hash` object: Node before `crypto.hash`. */
export const streamedWriteToken = (preimage: string): string =>
  tokenOfDigest(createHash('sha256').update(preimage, 'utf8').digest('base64url'))

/**
 * SHA-256 of a text's UTF-8 bytes on node:crypto (native, about twice as fast as the portable one here):
 * the write-token hash of `src/core/rendezvous/channel.ts`, byte for byte `portableTextSha256`. One
 * call of `crypto.hash` where Node has it (no `Hash` object per token: a put's ack showed it), else
 * {@link streamedTextSha256}. Its `token` gives the finished write token straight from the native
 * base64url of the digest (about a third of the cost of the bytes then encoded in JavaScript).
 */
export const nodeTextSha256: TextSha256 =
  oneShotHash === undefined
    ? Object.assign((text: string): Uint8Array => streamedTextSha256(text), { token: streamedWriteToken })
    : Object.assign((text: string): Uint8Array => oneShotHash('sha256', text, 'buffer'), {
        token: (preimage: string): string => tokenOfDigest(oneShotHash('sha256', preimage, 'base64url')),
      })

/** The pages' browser script for createApp (see page-script.ts). */
export { withPageScript } from './page-script.ts'
/** The pino logger and the silent one (see node-log.ts). */
export { pinoLogger, silentLogger } from './node-log.ts'
