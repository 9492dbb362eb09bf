/**
 * Channel tickets and discovery through app.request(): a native channel comes with a ticket the
 * scanning device can verify against /oauth2/jwks; Matrix clients find the rendezvous features in
 * /_matrix/client/versions.
 */
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { verifyChannelTicket } from '../../../src/services/channel-ticket.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { createJson, NATIVE, V4388 } from '../../helpers/rendezvous-requests.ts'

const appWithKeys = async () => {
  const clock = fakeClock(Date.UTC(2026, 10, 22))
  const signingKeys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(3), retiredKeyTtlMs: 86_400_000 })
  return { ...makeApp({ clock, signingKeys }), signingKeys }
}

describe('channel tickets', () => {
  it('come with every native channel and verify against the published JWKS', async () => {
    const t = await appWithKeys()
    const created = await createJson(t, NATIVE, '', { 'x-test-peer': '203.0.113.77' })
    expect(typeof created.ticket).toBe('string')
    const jwks = await (await t.app.request('/oauth2/jwks')).json()
    const claims = await verifyChannelTicket(created.ticket as string, jwks, t.clock.now(), {
      issuer: 'https://relay.example',
      channelId: created.id,
    })
    expect(claims).toMatchObject({ channelId: created.id, network: '203.0.113.0/24' })
    expect(decodeJwt(created.ticket as string).exp).toBe(Math.floor((t.clock.now() + 120_000) / 1000))
  })

  it('are refused once the channel has expired', async () => {
    const t = await appWithKeys()
    const created = await createJson(t, NATIVE)
    const jwks = await (await t.app.request('/oauth2/jwks')).json()
    await expect(
      verifyChannelTicket(created.ticket as string, jwks, t.clock.now() + 121_000, {
        issuer: 'https://relay.example',
        channelId: created.id,
      }),
    ).rejects.toThrow()
  })

  it('use the configured IPv6 network prefix', async () => {
    const t = await appWithKeys()
    const created = await createJson(t, NATIVE, '', { 'x-test-peer': '2001:db8:aa:bbcc::5' })
    expect(decodeJwt(created.ticket as string).net).toBe('2001:db8:aa:bb00::/56')
  })

  it('are not added to Matrix API responses', async () => {
    const t = await appWithKeys()
    expect(await createJson(t, V4388)).not.toHaveProperty('ticket')
  })

  it('keep a rotated-out key published', async () => {
    const t = await appWithKeys()
    const before = (await (await t.app.request('/oauth2/jwks')).json()) as { keys: Array<{ kid: string; d?: string }> }
    await t.signingKeys.rotate()
    const after = (await (await t.app.request('/oauth2/jwks')).json()) as { keys: Array<{ kid: string; d?: string }> }
    expect(after.keys).toHaveLength(2)
    expect(after.keys.map((k) => k.kid)).toContain(before.keys[0]?.kid)
    for (const key of after.keys) expect(key).not.toHaveProperty('d')
  })
})

describe('Matrix discovery', () => {
  it('advertises the enabled rendezvous features in /_matrix/client/versions (protocol.md §8.14)', async () => {
    const t = makeApp()
    const res = await t.app.request('/_matrix/client/versions')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { versions: string[]; unstable_features: Record<string, boolean> }
    expect(body.unstable_features).toMatchObject({ 'org.matrix.msc4108': true, 'io.element.msc4388': true })
    expect(body.versions.length).toBeGreaterThan(0)
    const off = makeApp({ env: { QRELAY_MSC4108_ENABLED: 'false' } })
    const offBody = (await (await off.app.request('/_matrix/client/versions')).json()) as { unstable_features: Record<string, boolean> }
    expect(offBody.unstable_features['org.matrix.msc4108']).toBe(false)
  })
})
