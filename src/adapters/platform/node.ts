/**
 * Node implementations of the platform ports: the system clock, the OS random source, and a pino logger
 * (`node-log.ts`).
 * Only `src/runtime/*` builds them.
 */
import nodeCrypto, { createHash, createHmac, randomBytes, randomFillSync } from 'node:crypto'
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

/**
 * SHA-256 of a text's UTF-8 bytes on node:crypto (native, about twice as fast as the portable one here):
 * the write-token hash of `src/core/rendezvous/channel.ts`, byte for byte `portableTextSha256`. One
 * call of `crypto.hash` where Node has it (no `Hash` object per token: a put's ack showed it), else
 * {@link streamedTextSha256}.
 */
export const nodeTextSha256: (text: string) => Uint8Array =
  oneShotHash === undefined ? streamedTextSha256 : (text) => oneShotHash('sha256', text, 'buffer')

/** The pages' browser script for createApp (see page-script.ts). */
export { withPageScript } from './page-script.ts'
/** The pino logger and the silent one (see node-log.ts). */
export { pinoLogger, silentLogger } from './node-log.ts'
