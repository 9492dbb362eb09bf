import { describe, expect, it } from 'vitest'
import { SignJWT, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { nodeJwsSignatures } from '../../../src/adapters/platform/node-jws-signatures.ts'
import { openSigningKeys, type CurrentSigningKey } from '../../../src/services/signing-keys.ts'
import {
  CHANNEL_TICKET_TYP,
  signChannelTicket,
  verifyChannelTicket,
  type TicketExpectations,
} from '../../../src/services/channel-ticket.ts'
import { ticketPlatform, verifyOnPlatform } from '../../../src/services/channel-ticket-platform.ts'
import type { JwsSignatures } from '../../../src/ports.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const ISSUER = 'https://relay.example'
const NOW = Date.UTC(2026, 0, 1)
const CHANNEL = 'Hq3x_9-kLmN0pQrStUvWxY'
const INPUT = { issuer: ISSUER, channelId: CHANNEL, network: '203.0.113.0/24', issuedAtMs: NOW, expiresAtMs: NOW + 120_000 }

/** The platform, counting the signatures it checked. */
const counted = (): JwsSignatures & { verified: number } => {
  const inner = nodeJwsSignatures()
  const port = {
    verified: 0,
    sign: inner.sign,
    verify: (...args: Parameters<JwsSignatures['verify']>) => {
      port.verified++
      return inner.verify(...args)
    },
  }
  return port
}

const edKeys = async (seed: number) =>
  openSigningKeys({ store: memoryKeyStore(), clock: fakeClock(NOW), random: seededRandom(seed), retiredKeyTtlMs: 86_400_000 })

/** A P-256 keyring of one key (the keyring itself makes Ed25519 keys). */
const esKeys = async (): Promise<{ current(): CurrentSigningKey; publicJwks(): JSONWebKeySet }> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: false })
  const { kty, crv, x, y } = await exportJWK(publicKey)
  const jwks = Object.freeze({ keys: [Object.freeze({ kty, crv, x, y, kid: 'es-key', alg: 'ES256', use: 'sig' })] }) as JSONWebKeySet
  return { current: () => ({ kid: 'es-key', alg: 'ES256', privateKey }), publicJwks: () => jwks }
}

/** What a verification gives: the claims, or the refusal's detail. */
const outcome = async (run: () => Promise<unknown>): Promise<unknown> => {
  try {
    return { claims: await run() }
  } catch (error) {
    return { refused: (error as { detail?: string }).detail ?? String(error) }
  }
}

const flip = (part: string): string => part.slice(0, -2) + (part.at(-2) === 'A' ? 'B' : 'A') + part.at(-1)
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('channel tickets on the platform (node:crypto)', () => {
  it('signs the bytes jose signs (Ed25519 is deterministic), with and without a network', async () => {
    const keys = await edKeys(1)
    const { network: _, ...withoutNetwork } = INPUT
    for (const input of [INPUT, withoutNetwork]) {
      expect(await signChannelTicket(keys, input, ticketPlatform(nodeJwsSignatures()))).toBe(await signChannelTicket(keys, input))
    }
  })

  it('signs P-256 tickets that jose verifies', async () => {
    const keys = await esKeys()
    const jws = await signChannelTicket(keys, INPUT, ticketPlatform(nodeJwsSignatures()))
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'ES256',
      kid: 'es-key',
      typ: CHANNEL_TICKET_TYP,
    })
    const claims = await verifyChannelTicket(jws, keys.publicJwks(), NOW, { issuer: ISSUER, channelId: CHANNEL })
    expect(claims).toEqual({ ...INPUT, keyId: 'es-key' })
  })

  it('checks the tickets it signs itself, Ed25519 and P-256', async () => {
    for (const keys of [await edKeys(2), await esKeys()]) {
      const jws = await signChannelTicket(keys, INPUT)
      const check = { typ: CHANNEL_TICKET_TYP, issuer: ISSUER, channelId: CHANNEL, toleranceSeconds: 0, nowMs: NOW }
      expect(verifyOnPlatform(nodeJwsSignatures(), jws, keys.publicJwks(), check)).toMatchObject({ iss: ISSUER, sub: CHANNEL })
    }
  })

  it('gives every ticket the verdict, claims or error jose gives it', async () => {
    const keys = await edKeys(3)
    const other = await edKeys(4)
    const es = await esKeys()
    const { kid, privateKey } = keys.current()
    const jws = await signChannelTicket(keys, INPUT)
    const [h, p, s] = jws.split('.') as [string, string, string]
    const signed = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(privateKey)
    const claims = { net: INPUT.network, iss: ISSUER, sub: CHANNEL, iat: NOW / 1000, exp: NOW / 1000 + 120 }
    const tickets: Array<[string, JSONWebKeySet]> = [
      [jws, keys.publicJwks()],
      [await signChannelTicket(keys, { ...INPUT, network: undefined as unknown as string }), keys.publicJwks()],
      [await signChannelTicket(es, INPUT), es.publicJwks()],
      [await signChannelTicket(other, INPUT), keys.publicJwks()],
      [await signChannelTicket(keys, { ...INPUT, issuer: 'https://other.example' }), keys.publicJwks()],
      [await signChannelTicket(keys, { ...INPUT, channelId: 'another-channel' }), keys.publicJwks()],
      [await signChannelTicket(keys, { ...INPUT, issuedAtMs: NOW + 5000, expiresAtMs: NOW + 60_000 }), keys.publicJwks()],
      [`${h}.${p}.${flip(s)}`, keys.publicJwks()],
      [`${h}.${flip(p)}.${s}`, keys.publicJwks()],
      [`${h}.${p}.${s}A`, keys.publicJwks()],
      [`${h}.${p}`, keys.publicJwks()],
      ['not a ticket', keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: 'JWT' }, claims), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: `application/${CHANNEL_TICKET_TYP}` }, claims), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP, extra: 1 }, claims), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP }, { ...claims, nbf: NOW / 1000 + 60 }), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP }, { ...claims, iat: String(claims.iat) }), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP }, { iss: ISSUER, sub: CHANNEL, exp: claims.exp }), keys.publicJwks()],
      [await signed({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP }, { ...claims, net: '203.0.113.7/24' }), keys.publicJwks()],
      [`${b64({ alg: 'EdDSA', kid, typ: CHANNEL_TICKET_TYP })}.${b64([1])}.${s}`, keys.publicJwks()],
      [jws, { keys: [...keys.publicJwks().keys, { ...keys.publicJwks().keys[0]!, x: other.publicJwks().keys[0]!.x }] }],
      [jws, { keys: [{ ...keys.publicJwks().keys[0]!, key_ops: ['verify'] }] }],
      [jws, { keys: [{ ...keys.publicJwks().keys[0]!, alg: 'ES256' }] }],
    ]
    const expectations: TicketExpectations[] = [
      { issuer: ISSUER, channelId: CHANNEL },
      { issuer: ISSUER },
      { issuer: ISSUER, clockToleranceMs: 10_000 },
      { issuer: 'https://other.example' },
    ]
    const platform = counted()
    for (const [ticket, jwks] of tickets) {
      for (const expect_ of expectations) {
        for (const now of [NOW, NOW + 119_999, NOW + 120_000, NOW + 125_000]) {
          const portable = await outcome(() => verifyChannelTicket(ticket, jwks, now, expect_))
          const native = await outcome(() => verifyChannelTicket(ticket, jwks, now, expect_, ticketPlatform(platform)))
          expect(native, `${ticket.slice(-12)} at ${now - NOW} ms, ${JSON.stringify(expect_)}`).toEqual(portable)
        }
      }
    }
    expect(platform.verified).toBeGreaterThan(20)
  })
})
