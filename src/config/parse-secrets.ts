/**
 * The parsers of keys and secrets. None of them echoes the value in its problem: the problem is
 * logged. Blank text means unset (undefined) unless said otherwise.
 */
import { parseSealingKeyring } from '../core/crypto/sealed-secret.ts'
import { parseSigningJwks } from '../core/crypto/signing-key-set.ts'
import { parseWebhookSecret } from '../core/webhooks/signature.ts'
import type { Parser } from './knob.ts'

/** Comma-separated hex keys of 32 to 64 bytes, lowercased; blank: none. */
export const hexKeyList: Parser<readonly string[]> = (raw) => {
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
  return keys.every((k) => /^([0-9a-fA-F]{2}){32,64}$/.test(k))
    ? { value: keys.map((k) => k.toLowerCase()) }
    : { problem: 'must be comma-separated keys of 64 to 128 hex characters' }
}

/** One hex key of 16 to 64 bytes, lowercased. */
export const hexKey: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return /^([0-9a-fA-F]{2}){16,64}$/.test(raw.trim())
    ? { value: raw.trim().toLowerCase() }
    : { problem: 'must be 32 to 128 hex characters' }
}

/** A JWK set (JSON) of ticket signing keys, kept as text (the signer parses it again). */
export const signingJwks: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const parsed = parseSigningJwks(raw)
  return parsed.ok ? { value: raw.trim() } : { problem: `is not a usable JWK set (${parsed.detail ?? 'invalid'})` }
}

/** A sealing keyring `kid:hex64,kid2:hex64`, kept as text. */
export const sealingKeyring: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const parsed = parseSealingKeyring(raw.trim())
  return parsed.ok ? { value: raw.trim() } : { problem: `is not a usable keyring (${parsed.detail ?? 'invalid'})` }
}

/** A bearer token of at least 32 characters. */
export const adminToken: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return raw.trim().length >= 32 ? { value: raw.trim() } : { problem: 'must be at least 32 characters' }
}

/** A Standard Webhooks `whsec_<base64>` secret. */
export const webhookSecret: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return parseWebhookSecret(raw.trim()) === null
    ? { problem: 'must be whsec_ followed by the base64 of 24 to 64 bytes' }
    : { value: raw.trim() }
}

/** Comma-separated `<client id>:<secret>` (secrets ≥ 32 characters), as client id → secret; blank: none. */
export const clientCredentials: Parser<ReadonlyMap<string, string>> = (raw) => {
  const clients = new Map<string, string>()
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':')
    const id = colon < 0 ? '' : entry.slice(0, colon)
    const secret = colon < 0 ? '' : entry.slice(colon + 1)
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) return { problem: 'needs entries "<client id>:<secret>" with ids of letters, digits, . _ -' }
    if (secret.length < 32) return { problem: `the secret of client "${id}" must be at least 32 characters` }
    if (clients.has(id)) return { problem: `client "${id}" appears twice` }
    clients.set(id, secret)
  }
  return { value: clients }
}
