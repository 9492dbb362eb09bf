/**
 * The channel ticket: a short-lived compact JWS the server signs when a native channel is created,
 * carried in the QR link next to the channel id, so the scanning device (and the server at approval)
 * can check that this server created the channel, when it ends, and from which network.
 *
 * Header `{ alg, kid, typ: "qrelay-ct+jwt" }`; claims `iss` (server base URL), `sub` (channel id: the
 * ticket travels beside the raw id, so hashing it would hide nothing), `net` (creator's network prefix,
 * optional), `iat`, `exp` (seconds). The ticket is a bearer value: never log it.
 *
 * Runs on Node, Workers and browsers (jose on WebCrypto); the server hands its platform's own
 * signatures where it has them (`ticketPlatform` of `channel-ticket-platform.ts`: one native call, the
 * same tickets).
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (proximity via signed QR data)
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.11 (explicit typing)
 */
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, createLocalJWKSet, type JSONWebKeySet, type JWTPayload } from 'jose'
import { RelayError } from '../core/errors.ts'
import { OPAQUE_ID, isHttpUrl } from '../core/channel/qr-bytes.ts'
import { parseCidr } from '../core/policy/network.ts'
import type { TicketPlatform } from './channel-ticket-platform.ts'
import type { CurrentSigningKey } from './signing-keys.ts'

/** The JWS `typ` of channel tickets, so no other token signed by the same keys passes as one. */
export const CHANNEL_TICKET_TYP = 'qrelay-ct+jwt'

/** What a ticket states. */
export interface ChannelTicketInput {
  /** The server's public base URL. */
  issuer: string
  channelId: string
  /** The creator's network prefix, e.g. `203.0.113.0/24`; omitted when the address is unknown. */
  network?: string
  issuedAtMs: number
  /** Normally the channel's own expiry: the ticket should not outlive the channel. */
  expiresAtMs: number
}

/** A verified ticket's claims (times in ms, floored to the second as signed). */
export interface ChannelTicketClaims extends ChannelTicketInput {
  /** Id of the key that signed it. */
  keyId: string
}

/** What the verifier insists on. */
export interface TicketExpectations {
  /** The issuer it must come from (exact string). */
  issuer: string
  /** When set, the channel the ticket must be for. */
  channelId?: string
  /** Allowed clock difference with the signer, for `exp` and `iat`. Default 0. */
  clockToleranceMs?: number
}

/** True for a prefix written as `prefixOf` writes it (`203.0.113.0/24`, `2001:db8::/56`): one spelling only. */
const isCanonicalPrefix = (network: string): boolean => {
  const cidr = network.includes('/') ? parseCidr(network) : null
  return cidr !== null && `${cidr[0].toString()}/${cidr[1]}` === network
}

/**
 * Signs a channel ticket with the current key.
 * Throws a plain Error on a bad input (a bug in the caller, not a client mistake).
 *
 * @example
 * const ticket = await signChannelTicket(keys, {
 *   issuer: 'https://relay.example', channelId: record.id, network: '203.0.113.0/24', issuedAtMs: now, expiresAtMs: record.expiresAtMs })
 */
export const signChannelTicket = async (
  keys: { current(): CurrentSigningKey },
  input: ChannelTicketInput,
  platform?: TicketPlatform,
): Promise<string> => {
  const iat = Math.floor(input.issuedAtMs / 1000)
  const exp = Math.floor(input.expiresAtMs / 1000)
  if (!OPAQUE_ID.test(input.channelId)) throw new Error('channel ticket: the channel id is not an opaque identifier')
  if (!isHttpUrl(input.issuer)) throw new Error('channel ticket: the issuer must be an http(s) URL')
  if (!(exp > iat)) throw new Error('channel ticket: it must expire at least a second after it is issued')
  if (input.network !== undefined && !isCanonicalPrefix(input.network)) throw new Error('channel ticket: network is not a CIDR prefix')
  const { kid, alg, privateKey } = keys.current()
  const claims = input.network === undefined ? {} : { net: input.network }
  if (platform !== undefined) {
    // The claims in the order SignJWT sets them.
    const payload = { ...claims, iss: input.issuer, sub: input.channelId, iat, exp }
    const jws = platform.sign(alg, privateKey, { alg, kid, typ: CHANNEL_TICKET_TYP }, payload)
    if (jws !== null) return jws
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: CHANNEL_TICKET_TYP })
    .setIssuer(input.issuer)
    .setSubject(input.channelId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey)
}

// One key set per JWKS object, so its keys are imported once, not at every verification: the SDK
// keeps the set it fetched (for the answer's max-age) and the server's `publicJwks()` answers the same
// object while its keys do not change. jose snapshots the set, so a key set never sees later edits.
const keySets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>()
const keySetOf = (jwks: JSONWebKeySet): ReturnType<typeof createLocalJWKSet> => {
  let set = keySets.get(jwks)
  if (set === undefined) {
    set = createLocalJWKSet(jwks)
    keySets.set(jwks, set)
  }
  return set
}

const refuse = (detail: string): RelayError => new RelayError('UNAUTHORIZED', { detail })

// jose's claim errors carry the payload; none of it (the channel id is a bearer value) may reach a log,
// so the RelayError gets a fixed detail and no cause.
const detailOf = (error: errors.JOSEError): string => {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'channel ticket expired'
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'channel ticket signed by an unknown key'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'channel ticket signature invalid'
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'channel ticket algorithm not allowed'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `channel ticket "${(error as errors.JWTClaimValidationFailed).claim}" claim invalid`
    default:
      return 'malformed channel ticket'
  }
}

/** The claims of a ticket jose verifies (signature, `typ`, issuer, subject when expected, required claims, expiry). */
const verifiedByJose = async (
  jws: string,
  jwks: JSONWebKeySet,
  now: number,
  expect: TicketExpectations,
  toleranceSeconds: number,
): Promise<JWTPayload> => {
  try {
    const { payload } = await jwtVerify(jws, keySetOf(jwks), {
      algorithms: ['EdDSA', 'ES256'],
      typ: CHANNEL_TICKET_TYP,
      issuer: expect.issuer,
      ...(expect.channelId === undefined ? {} : { subject: expect.channelId }),
      requiredClaims: ['iss', 'sub', 'iat', 'exp'],
      currentDate: new Date(now),
      clockTolerance: toleranceSeconds,
    })
    return payload
  } catch (error) {
    if (error instanceof errors.JOSEError) throw refuse(detailOf(error))
    throw error
  }
}

/**
 * Verifies a channel ticket against a JWKS at time `now` (ms): signature by a published key named by
 * `kid`, `typ`, issuer, expiry, issue time, and the channel id when expected. With `platform`, the
 * platform checks the tickets it can (the same verdicts), jose the others.
 *
 * Errors: RelayError UNAUTHORIZED with a detail such as `channel ticket expired`, `… signed by an
 * unknown key`, `… signature invalid`, `… "iss" claim invalid`, `malformed channel ticket`.
 * @example
 * const claims = await verifyChannelTicket(link.ticket, jwks, clock.now(), { issuer, channelId: link.channelId })
 */
export const verifyChannelTicket = async (
  jws: string,
  jwks: JSONWebKeySet,
  now: number,
  expect: TicketExpectations,
  platform?: TicketPlatform,
): Promise<ChannelTicketClaims> => {
  const toleranceSeconds = Math.ceil((expect.clockToleranceMs ?? 0) / 1000)
  let kid: unknown
  try {
    kid = decodeProtectedHeader(jws).kid
  } catch {
    throw refuse('malformed channel ticket')
  }
  if (typeof kid !== 'string') throw refuse('channel ticket has no kid')
  const onPlatform =
    platform === undefined
      ? null
      : platform.verify(jws, jwks, {
          typ: CHANNEL_TICKET_TYP,
          issuer: expect.issuer,
          ...(expect.channelId === undefined ? {} : { channelId: expect.channelId }),
          toleranceSeconds,
          nowMs: now,
        })
  const payload = onPlatform ?? (await verifiedByJose(jws, jwks, now, expect, toleranceSeconds))
  if (typeof payload.iat !== 'number' || payload.iat > Math.floor(now / 1000) + toleranceSeconds) {
    throw refuse('channel ticket "iat" claim invalid')
  }
  if (typeof payload.sub !== 'string' || !OPAQUE_ID.test(payload.sub)) throw refuse('channel ticket "sub" claim invalid')
  if (payload.net !== undefined && (typeof payload.net !== 'string' || !isCanonicalPrefix(payload.net))) {
    throw refuse('channel ticket "net" claim invalid')
  }
  const claims: ChannelTicketClaims = {
    issuer: payload.iss as string,
    channelId: payload.sub,
    issuedAtMs: payload.iat * 1000,
    expiresAtMs: (payload.exp as number) * 1000,
    keyId: kid,
  }
  if (typeof payload.net === 'string') claims.network = payload.net
  return claims
}
