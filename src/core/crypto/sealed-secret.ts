/**
 * Secrets at rest (second-factor keys): sealed with XChaCha20-Poly1305 under a key of the operator's
 * keyring, so a copy of the database, a backup or a Redis dump does not hold them in the clear.
 *
 * A sealed value reads `v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`: the version, the id of the
 * key that sealed it (so a rotated keyring still opens it), a random 192-bit nonce. The associated
 * data binds the version, the key id, the purpose and the account id: a value copied to another
 * account (or used for another purpose, or relabelled with another key id) does not open.
 *
 * The keyring's first key seals; the others only open. A value sealed under an older key, or a
 * plain value written before sealing existed, opens with `stale: true`: the caller re-seals it.
 * Pure: randomness is an argument.
 *
 * @see https://datatracker.ietf.org/doc/html/draft-irtf-cfrg-xchacha
 * @see https://www.rfc-editor.org/rfc/rfc8439
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import type { Random } from '../../ports.ts'
import { fail, ok, type Result } from '../errors.ts'
import { fromBase64Url, toBase64Url } from './secrets.ts'

/** Bytes of a sealing key (XChaCha20-Poly1305: 256 bits). */
export const SEALING_KEY_BYTES = 32
const NONCE_BYTES = 24
const TAG_BYTES = 16
const VERSION = 'v1'

/** One key of the keyring. `id`: 1 to 32 of `[A-Za-z0-9_-]`, unique in the ring. */
export interface SealingKey {
  id: string
  key: Uint8Array
}

/** The keys secrets are sealed with: `keys[0]` seals, every key opens. Never printed (see {@link sealingKeyring}). */
export interface SealingKeyring {
  readonly keys: readonly SealingKey[]
}

/** What a sealed value is bound to: it opens only for the same account and purpose. */
export interface SealContext {
  accountId: string
  /** What the secret is, e.g. `totp`. */
  purpose: string
}

/** An opened value: the plaintext, and whether it should be re-sealed (older key, or stored plain). */
export interface OpenedSecret {
  plaintext: string
  stale: boolean
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/

const aad = (kid: string, context: SealContext): Uint8Array =>
  new TextEncoder().encode(`qrelay-sealed-secret\u0000${VERSION}\u0000${kid}\u0000${context.purpose}\u0000${context.accountId}`)

/**
 * A keyring from keys (the first seals). Refuses bad ids, duplicate ids and keys that are not 32
 * bytes; its JSON and string forms name the key ids only.
 *
 * @example
 * const ring = sealingKeyring([{ id: 'k2', key: newKey }, { id: 'k1', key: oldKey }])
 */
export const sealingKeyring = (keys: readonly SealingKey[]): Result<SealingKeyring, 'INVALID_PARAM'> => {
  if (keys.length === 0) return fail('INVALID_PARAM', 'the keyring needs at least one key')
  const seen = new Set<string>()
  for (const { id, key } of keys) {
    if (!KEY_ID.test(id)) return fail('INVALID_PARAM', 'key ids are 1 to 32 of A-Z a-z 0-9 _ -')
    if (seen.has(id)) return fail('INVALID_PARAM', `key id "${id}" appears twice`)
    if (key.length !== SEALING_KEY_BYTES) return fail('INVALID_PARAM', `key "${id}" must be ${SEALING_KEY_BYTES} bytes`)
    seen.add(id)
  }
  const copied = keys.map(({ id, key }) => ({ id, key: Uint8Array.from(key) }))
  const ids = copied.map((k) => k.id)
  return ok({
    keys: copied,
    toJSON: () => ({ kind: 'sealing-keyring', ids }),
    toString: () => `[sealing keyring ${ids.join(',')}]`,
  } as SealingKeyring)
}

/**
 * Parses the keyring text of configuration and key files: `kid:hex64,kid2:hex64` (first seals).
 * Problems never echo key material.
 *
 * @example
 * const ring = parseSealingKeyring('k2:' + 'ab'.repeat(32) + ',k1:' + 'cd'.repeat(32))
 */
export const parseSealingKeyring = (text: string): Result<SealingKeyring, 'INVALID_PARAM'> => {
  const keys: SealingKey[] = []
  for (const [n, entry] of text
    .split(',')
    .map((e) => e.trim())
    .entries()) {
    const colon = entry.indexOf(':')
    const id = colon < 0 ? '' : entry.slice(0, colon)
    const hex = colon < 0 ? '' : entry.slice(colon + 1)
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) return fail('INVALID_PARAM', `needs entries "<key id>:<64 hex digits>" (entry ${n + 1} is not)`)
    keys.push({ id, key: Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)) })
  }
  return sealingKeyring(keys)
}

/** The keyring text of {@link parseSealingKeyring} (for key files; never log it). */
export const formatSealingKeyring = (ring: SealingKeyring): string =>
  ring.keys.map(({ id, key }) => `${id}:${Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('')}`).join(',')

/** True when `value` has the sealed form (whether or not it opens). */
export const isSealed = (value: string): boolean => value.startsWith(`${VERSION}.`)

/**
 * Seals `plaintext` under the keyring's first key, bound to `context`.
 *
 * @example
 * const stored = sealSecret(ring, secret.base32(), { accountId, purpose: 'totp' }, random)
 */
export const sealSecret = (ring: SealingKeyring, plaintext: string, context: SealContext, random: Random): string => {
  const current = ring.keys[0]
  if (current === undefined) throw new Error('empty sealing keyring')
  const nonce = random.bytes(NONCE_BYTES)
  const sealed = xchacha20poly1305(current.key, nonce, aad(current.id, context)).encrypt(new TextEncoder().encode(plaintext))
  const packed = new Uint8Array(NONCE_BYTES + sealed.length)
  packed.set(nonce)
  packed.set(sealed, NONCE_BYTES)
  return `${VERSION}.${current.id}.${toBase64Url(packed)}`
}

/**
 * Opens a stored value. A sealed value opens only under its key id, for the same context, untampered;
 * `stale` when that key is not the current one. A value without the sealed prefix is a legacy plain
 * secret when `legacyPlain(value)` accepts it (then `stale`). Fails with a detail that never holds the
 * secret: `unknown key` (its key left the keyring), `does not open` (tampered, moved, wrong key).
 *
 * @example
 * const opened = openSecret(ring, account.totp.secret, { accountId, purpose: 'totp' }, isBase32)
 */
export const openSecret = (
  ring: SealingKeyring,
  stored: string,
  context: SealContext,
  legacyPlain: (value: string) => boolean = () => false,
): Result<OpenedSecret, 'INVALID_PARAM'> => {
  if (!isSealed(stored)) {
    return legacyPlain(stored) ? ok({ plaintext: stored, stale: true }) : fail('INVALID_PARAM', 'not a sealed value')
  }
  const [, kid, body, ...rest] = stored.split('.')
  if (kid === undefined || body === undefined || rest.length > 0) return fail('INVALID_PARAM', 'malformed sealed value')
  const index = ring.keys.findIndex((k) => k.id === kid)
  const key = ring.keys[index]
  if (key === undefined) return fail('INVALID_PARAM', KEY_ID.test(kid) ? `sealed under unknown key "${kid}"` : 'malformed sealed value')
  let packed: Uint8Array
  try {
    packed = fromBase64Url(body)
  } catch {
    // Safe: the decoder throws only on a body that is not base64url: bad input, answered as a Result.
    return fail('INVALID_PARAM', 'malformed sealed value')
  }
  if (packed.length < NONCE_BYTES + TAG_BYTES) return fail('INVALID_PARAM', 'malformed sealed value')
  try {
    const plain = xchacha20poly1305(key.key, packed.subarray(0, NONCE_BYTES), aad(kid, context)).decrypt(packed.subarray(NONCE_BYTES))
    return ok({ plaintext: new TextDecoder().decode(plain), stale: index !== 0 })
  } catch {
    // Safe: decrypt throws when the tag does not verify (tampered, wrong key or context): a Result, not a fault.
    return fail('INVALID_PARAM', 'sealed value does not open (tampered, or bound to another account)')
  }
}

/**
 * A new random keyring of one key (the default when none is configured).
 *
 * @example
 * const ring = newSealingKeyring(random, 'k' + clock.now().toString(36))
 */
export const newSealingKeyring = (random: Random, id: string): SealingKeyring => {
  const ring = sealingKeyring([{ id, key: random.bytes(SEALING_KEY_BYTES) }])
  if (!ring.ok) throw new Error(ring.detail)
  return ring.value
}
