import { describe, expect, it } from 'vitest'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { parseConfig } from '../../../src/config.ts'
import { RelayError } from '../../../src/core/errors.ts'
import { channelTickets } from '../../../src/services/channel-tickets.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const ISSUER = 'https://relay.example'
const CHANNEL = 'Hq3x_9-kLmN0pQrStUvWxY'

const setup = async () => {
  const clock = fakeClock()
  const keys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(3), retiredKeyTtlMs: 86_400_000 })
  const tickets = channelTickets({ keys, clock, network: parseConfig({}).network })
  return { clock, tickets }
}

const errorOf = async (promise: Promise<unknown>): Promise<RelayError> => {
  try {
    await promise
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
  throw new Error('expected a RelayError')
}

describe('channelTickets', () => {
  it('issues a ticket naming the creator network prefix, and reads it back as a channel_create sighting', async () => {
    const { clock, tickets } = await setup()
    const ticket = await tickets.issue({
      issuer: ISSUER,
      channelId: CHANNEL,
      clientAddress: '203.0.113.77',
      expiresAtMs: clock.now() + 120_000,
    })
    const issuedAt = clock.now()
    clock.advance(5_000)
    expect(await tickets.sightingOf(ticket, { issuer: ISSUER, maxAgeMs: 600_000 })).toEqual({
      source: 'channel_create',
      atMs: issuedAt,
      prefix: '203.0.113.0/24',
    })
    expect(tickets.publicJwks().keys.length).toBeGreaterThan(0)
  })

  it('a ticket of an unknown address names no network: no sighting', async () => {
    const { clock, tickets } = await setup()
    const ticket = await tickets.issue({ issuer: ISSUER, channelId: CHANNEL, clientAddress: 'unknown', expiresAtMs: clock.now() + 120_000 })
    expect(await tickets.sightingOf(ticket, { issuer: ISSUER, maxAgeMs: 600_000 })).toBeNull()
  })

  it('refuses a ticket of another issuer, a tampered one, and one past its tolerance, as INVALID_PARAM', async () => {
    const { clock, tickets } = await setup()
    const ticket = await tickets.issue({
      issuer: ISSUER,
      channelId: CHANNEL,
      clientAddress: '203.0.113.77',
      expiresAtMs: clock.now() + 120_000,
    })
    const other = await errorOf(tickets.sightingOf(ticket, { issuer: 'https://other.example', maxAgeMs: 600_000 }))
    expect(other.code).toBe('INVALID_PARAM')
    expect(other.detail).toMatch(/^channel_ticket: /)
    const tampered = `${ticket.slice(0, -4)}AAAA`
    expect((await errorOf(tickets.sightingOf(tampered, { issuer: ISSUER, maxAgeMs: 600_000 }))).code).toBe('INVALID_PARAM')
    clock.advance(120_000 + 600_000 + 60_000)
    expect((await errorOf(tickets.sightingOf(ticket, { issuer: ISSUER, maxAgeMs: 600_000 }))).code).toBe('INVALID_PARAM')
  })
})
