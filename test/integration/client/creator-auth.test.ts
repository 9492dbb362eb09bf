/**
 * Authenticate-then-initiate with the device SDK (`QRELAY_INITIATION_REQUIRE_AUTH`): only signed-in
 * devices create channels, so the existing device shows the QR code, sending its session with the
 * create (`creator`); without it the create is refused and the SDK says so. A DPoP-bound session
 * sends its proof of `POST <public base>/v1/rendezvous`.
 */
import { describe, expect, it } from 'vitest'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { isClientError } from '../../../src/client/errors.ts'
import { nativeApi } from '../../../src/client/native-api.ts'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { login, viaApp } from '../../helpers/account-client.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'

const requireAuthApp = async () => {
  const clock = fakeClock(Date.now())
  const signingKeys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(7), retiredKeyTtlMs: 86_400_000 })
  const t = makeApp({
    clock,
    signingKeys,
    env: { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1', QRELAY_INITIATION_REQUIRE_AUTH: 'true' },
  })
  await t.auth.accounts.create('dora', PASSWORD)
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise.resolve(t.app.request(String(input), init))
  return { t, fetch }
}

describe('the SDK where only signed-in devices may create channels', () => {
  it('the existing device shows the QR code with its session; without one the create is refused', async () => {
    const { t, fetch } = await requireAuthApp()
    const tokens = await login(viaApp(t.app), 'dora', PASSWORD)
    const refused = await ExistingDevice.showQr({ baseUrl: ORIGIN, fetch }).catch((error: unknown) => error)
    expect(isClientError(refused)).toBe(true)
    const shown = await ExistingDevice.showQr({ baseUrl: ORIGIN, fetch, creator: { accessToken: tokens.access_token as string } })
    expect(shown.qrLink).toMatch(/^https:\/\/relay\.example\/link#v1\./)
    // A new device, not signed in, cannot show one.
    expect(isClientError(await NewDevice.showQr({ baseUrl: ORIGIN, fetch }).catch((error: unknown) => error))).toBe(true)
    await shown.close()
  })

  it('a DPoP-bound session sends its proof of POST <public base>/v1/rendezvous with the create', async () => {
    const sent: Array<{ url: string; headers: Record<string, string> }> = []
    const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      sent.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) } })
      return Response.json({ id: 'i', creator_secret: 's', ticket: 't', sequence_token: 'q', expires_in_ms: 1000 })
    }
    const proofs: unknown[][] = []
    const dpopKey = { proof: async (...args: unknown[]) => (proofs.push(args), 'the-proof') }
    const api = nativeApi({ baseUrl: 'http://10.0.0.2:8080/', publicBaseUrl: ORIGIN, fetch, creator: { accessToken: 'tok', dpopKey } })
    await api.create()
    expect(sent[0]?.url).toBe('http://10.0.0.2:8080/v1/rendezvous')
    expect(sent[0]?.headers).toMatchObject({ Authorization: 'DPoP tok', DPoP: 'the-proof' })
    expect(proofs).toEqual([['POST', `${ORIGIN}/v1/rendezvous`, 'tok']])
  })
})
