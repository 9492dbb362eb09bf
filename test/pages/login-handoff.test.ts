/**
 * `POST /login/session` through `app.request()` with the fake clock: a QR login's DPoP-bound session
 * handed over to the page cookies for the same device (the bound tokens dead afterwards), and the
 * refusals: no proof, a replayed proof, an unbound token, a second hand-over, a foreign origin.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'

const ORIGIN = 'https://relay.example'
const URL_ = `${ORIGIN}/login/session`

describe('POST /login/session (the /login page hands its session to the cookies)', () => {
  let t: TestApp
  let key: DpopHolder
  let bound: { accessToken: string; refreshToken: string; deviceId: string; accountId: string }
  let approverId: string

  beforeEach(async () => {
    t = makeApp({ env: { QRELAY_ARGON2_MEMORY_KIB: '64', QRELAY_ARGON2_ITERATIONS: '1' } })
    const account = await t.auth.accounts.create('gil', 'correct horse battery staple')
    approverId = (await t.auth.sessions.mint(account, { displayName: 'Phone', origin: 'password' })).deviceId
    key = await dpopHolder()
    bound = await t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'qr', approvedByDeviceId: approverId, jkt: key.jkt })
  })

  const handOff = async (headers: Record<string, string>) =>
    t.app.request(URL_, { method: 'POST', headers: { origin: ORIGIN, ...headers } })
  const withProof = async (proof?: string) =>
    handOff({
      authorization: `DPoP ${bound.accessToken}`,
      dpop: proof ?? (await key.prove('POST', URL_, t.clock.now(), { accessToken: bound.accessToken })),
    })
  const cookiesOf = (res: Response): Map<string, string> =>
    new Map(res.headers.getSetCookie().map((line) => (line.split(';')[0] ?? '').split('=') as [string, string]))

  it('sets both cookies for the same device and kills the bound tokens', async () => {
    const res = await withProof()
    expect(res.status).toBe(204)
    const jar = cookiesOf(res)
    expect([...jar.keys()].sort()).toEqual(['__Host-qrelay-page', '__Host-qrelay-page-refresh'])
    for (const line of res.headers.getSetCookie())
      for (const part of ['HttpOnly', 'Secure', 'SameSite=Strict']) expect(line).toContain(part)
    const page = await t.auth.sessions.authenticate(jar.get('__Host-qrelay-page'))
    expect(page.deviceId).toBe(bound.deviceId)
    expect(page.token.jkt).toBeUndefined()
    await expect(t.auth.sessions.authenticate(bound.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    await expect(t.auth.sessions.refresh(bound.refreshToken, key.jkt)).rejects.toMatchObject({ name: 'RefreshError' })
    // /account opens on the cookie, this device marked, signed in by QR and approved by the phone.
    const account = await t.app.request(`${ORIGIN}/account`, { headers: { cookie: `__Host-qrelay-page=${jar.get('__Host-qrelay-page')}` } })
    expect(account.status).toBe(200)
    const html = await account.text()
    expect(html).toMatch(/<li class="device current"[^>]*><h3>Web browser <span class="badge">This device<\/span>/)
    expect(html).toContain('QR code, approved by “Phone”')
  })

  it('refuses a bound token without a proof, and a replayed proof', async () => {
    expect((await handOff({ authorization: `DPoP ${bound.accessToken}` })).status).toBe(401)
    const proof = await key.prove('POST', URL_, t.clock.now(), { accessToken: bound.accessToken })
    expect((await withProof(proof)).status).toBe(204)
    const replay = await withProof(proof)
    expect(replay.status).toBe(401)
    expect(replay.headers.getSetCookie()).toEqual([])
  })

  it('refuses a proof by another key (a stolen token)', async () => {
    const thief = await dpopHolder()
    const res = await withProof(await thief.prove('POST', URL_, t.clock.now(), { accessToken: bound.accessToken }))
    expect(res.status).toBe(401)
    expect((await withProof()).status).toBe(204)
  })

  it('hands a session over once: the second, with a fresh proof, gets nothing', async () => {
    expect((await withProof()).status).toBe(204)
    const again = await withProof()
    expect(again.status).toBe(401)
    expect(again.headers.getSetCookie()).toEqual([])
  })

  it('refuses an unbound token (a page or password session), with either scheme', async () => {
    const account = await t.auth.accounts.get(bound.accountId)
    if (account === null) throw new Error('no account')
    const plain = await t.auth.sessions.mint(account, { displayName: 'Laptop', origin: 'password' })
    expect((await handOff({ authorization: `Bearer ${plain.accessToken}` })).status).toBe(401)
    const proof = await key.prove('POST', URL_, t.clock.now(), { accessToken: plain.accessToken })
    expect((await handOff({ authorization: `DPoP ${plain.accessToken}`, dpop: proof })).status).toBe(401)
    await expect(t.auth.sessions.authenticate(plain.accessToken)).resolves.toMatchObject({ deviceId: plain.deviceId })
  })

  it('refuses a foreign origin before spending the proof', async () => {
    const proof = await key.prove('POST', URL_, t.clock.now(), { accessToken: bound.accessToken })
    const res = await t.app.request(URL_, {
      method: 'POST',
      headers: { origin: 'https://evil.example', authorization: `DPoP ${bound.accessToken}`, dpop: proof },
    })
    expect(res.status).toBe(403)
    expect((await withProof(proof)).status).toBe(204)
  })
})
