import { describe, expect, it } from 'vitest'
import { SignJWT, UnsecuredJWT, base64url } from 'jose'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import {
  CHANNEL_TICKET_TYP,
  signChannelTicket,
  verifyChannelTicket,
  type ChannelTicketInput,
} from '../../../src/services/channel-ticket.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const ISSUER = 'https://relay.example'
const NOW = Date.UTC(2026, 0, 1)
const CHANNEL = 'Hq3x_9-kLmN0pQrStUvWxY'
const INPUT: ChannelTicketInput = {
  issuer: ISSUER,
  channelId: CHANNEL,
  network: '203.0.113.0/24',
  issuedAtMs: NOW,
  expiresAtMs: NOW + 120_000,
}

const keyring = async (seed: number | string = 1) => {
  const clock = fakeClock(NOW)
  const keys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(seed), retiredKeyTtlMs: 86_400_000 })
  return { keys, clock }
}

/** The RelayError a verification throws. */
const refusal = async (promise: Promise<unknown>): Promise<RelayError> => {
  try {
    await promise
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
  throw new Error('the ticket was accepted')
}

const flipLastChar = (part: string): string => part.slice(0, -2) + (part.at(-2) === 'A' ? 'B' : 'A') + part.at(-1)

describe('signChannelTicket / verifyChannelTicket', () => {
  it('round-trips the claims, signed by the current key', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, INPUT)
    const claims = await verifyChannelTicket(jws, keys.publicJwks(), NOW + 1000, { issuer: ISSUER, channelId: CHANNEL })
    expect(claims).toEqual({ ...INPUT, keyId: keys.current().kid })
  })

  it('puts kid and the explicit type in the header', async () => {
    const { keys } = await keyring()
    const header = JSON.parse(new TextDecoder().decode(base64url.decode((await signChannelTicket(keys, INPUT)).split('.')[0]!)))
    expect(header).toEqual({ alg: 'EdDSA', kid: keys.current().kid, typ: CHANNEL_TICKET_TYP })
  })

  it('carries an IPv6 prefix', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, { ...INPUT, network: '2001:db8:0:100::/56' })
    expect(await verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER })).toMatchObject({ network: '2001:db8:0:100::/56' })
  })

  it('leaves the network out when it is unknown', async () => {
    const { keys } = await keyring()
    const { network: _n, ...input } = INPUT
    const claims = await verifyChannelTicket(await signChannelTicket(keys, input), keys.publicJwks(), NOW, { issuer: ISSUER })
    expect(claims).not.toHaveProperty('network')
  })

  it('accepts a ticket up to the second before expiry and refuses it from then on', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, INPUT)
    await expect(verifyChannelTicket(jws, keys.publicJwks(), INPUT.expiresAtMs - 1001, { issuer: ISSUER })).resolves.toBeDefined()
    const error = await refusal(verifyChannelTicket(jws, keys.publicJwks(), INPUT.expiresAtMs, { issuer: ISSUER }))
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', detail: 'channel ticket expired' })
  })

  it('allows the configured clock tolerance', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, INPUT)
    await expect(
      verifyChannelTicket(jws, keys.publicJwks(), INPUT.expiresAtMs + 4000, { issuer: ISSUER, clockToleranceMs: 5000 }),
    ).resolves.toBeDefined()
  })

  it('refuses a ticket issued in the future', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, { ...INPUT, issuedAtMs: NOW + 60_000, expiresAtMs: NOW + 120_000 })
    expect(await refusal(verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket "iat" claim invalid',
    })
  })

  it.each([
    ['the payload', 1],
    ['the signature', 2],
    ['the header', 0],
  ])('refuses a ticket whose %s was tampered with', async (_, index) => {
    const { keys } = await keyring()
    const parts = (await signChannelTicket(keys, INPUT)).split('.')
    if (index === 1) {
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(parts[1]!)))
      parts[1] = base64url.encode(JSON.stringify({ ...claims, net: '198.51.100.0/24' }))
    } else {
      parts[index] = flipLastChar(parts[index]!)
    }
    const error = await refusal(verifyChannelTicket(parts.join('.'), keys.publicJwks(), NOW, { issuer: ISSUER }))
    expect(error.code).toBe('UNAUTHORIZED')
  })

  it('refuses a ticket from another issuer', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, { ...INPUT, issuer: 'https://evil.example' })
    expect(await refusal(verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      code: 'UNAUTHORIZED',
      detail: 'channel ticket "iss" claim invalid',
    })
  })

  it('refuses a ticket for another channel', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, INPUT)
    expect(await refusal(verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER, channelId: 'other' }))).toMatchObject({
      detail: 'channel ticket "sub" claim invalid',
    })
  })

  it('refuses a ticket signed by a key the JWKS does not publish', async () => {
    const { keys } = await keyring(1)
    const { keys: strangers } = await keyring(2)
    const jws = await signChannelTicket(strangers, INPUT)
    expect(await refusal(verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket signed by an unknown key',
    })
  })

  it('refuses a ticket that names a published kid but was signed by another key', async () => {
    const { keys } = await keyring(1)
    const { keys: strangers } = await keyring(2)
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.current().kid, typ: CHANNEL_TICKET_TYP })
      .setIssuer(ISSUER)
      .setSubject(CHANNEL)
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(strangers.current().privateKey)
    expect(await refusal(verifyChannelTicket(forged, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket signature invalid',
    })
  })

  it('refuses a JWT of another type signed by the same key', async () => {
    const { keys } = await keyring()
    const other = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.current().kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject(CHANNEL)
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(keys.current().privateKey)
    expect(await refusal(verifyChannelTicket(other, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket "typ" claim invalid',
    })
  })

  it('refuses a ticket without kid, an unsigned one, and text that is no JWS', async () => {
    const { keys } = await keyring()
    const noKid = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', typ: CHANNEL_TICKET_TYP })
      .setIssuer(ISSUER)
      .setSubject(CHANNEL)
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(keys.current().privateKey)
    expect(await refusal(verifyChannelTicket(noKid, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket has no kid',
    })
    const unsigned = new UnsecuredJWT({}).setIssuer(ISSUER).setSubject(CHANNEL).encode()
    expect((await refusal(verifyChannelTicket(unsigned, keys.publicJwks(), NOW, { issuer: ISSUER }))).code).toBe('UNAUTHORIZED')
    expect(await refusal(verifyChannelTicket('not.a.jws', keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'malformed channel ticket',
    })
  })

  it('keeps verifying tickets of a rotated-out key while it is published', async () => {
    const { keys, clock } = await keyring()
    const before = await signChannelTicket(keys, INPUT)
    await keys.rotate()
    const after = await signChannelTicket(keys, INPUT)
    expect(after.split('.')[0]).not.toBe(before.split('.')[0])
    for (const jws of [before, after]) {
      await expect(verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER })).resolves.toBeDefined()
    }
    clock.advance(86_400_000)
    expect(await refusal(verifyChannelTicket(before, keys.publicJwks(), NOW, { issuer: ISSUER }))).toMatchObject({
      detail: 'channel ticket signed by an unknown key',
    })
  })

  it('never puts the ticket or the channel id in the error', async () => {
    const { keys } = await keyring()
    const jws = await signChannelTicket(keys, INPUT)
    for (const [now, expect_] of [
      [INPUT.expiresAtMs + 5000, { issuer: ISSUER }],
      [NOW, { issuer: 'https://other.example' }],
      [NOW, { issuer: ISSUER, channelId: 'x' }],
    ] as const) {
      const error = await refusal(verifyChannelTicket(jws, keys.publicJwks(), now, expect_))
      const printed = `${error.message} ${error.detail} ${JSON.stringify(error)} ${String(error.cause)}`
      expect(printed).not.toContain(CHANNEL)
      expect(printed).not.toContain(jws.split('.')[1])
      expect(error.cause).toBeUndefined()
    }
  })

  it.each([
    ['a channel id outside the opaque grammar', { channelId: 'a b' }],
    ['a non-http issuer', { issuer: 'relay.example' }],
    ['an expiry not after issue', { expiresAtMs: NOW + 999 }],
    ['a network that is not a prefix', { network: '203.0.113' }],
    ['a network spelled two ways', { network: '2001:0db8::/56' }],
  ])('refuses to sign %s', async (_, change) => {
    const { keys } = await keyring()
    await expect(signChannelTicket(keys, { ...INPUT, ...change })).rejects.toThrow(/channel ticket/)
  })
})
