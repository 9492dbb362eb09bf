/**
 * QR login end to end through the device SDK against a real server on port 0 (memory ephemeral
 * store, SQLite durable store in a temp directory): both intents over HTTP, WebSocket and mixed
 * transports; a decline; a step-up when the devices are on different networks; a check-code mismatch
 * that burns the channel; a second device racing to join; and `npm run demo`.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approveSignIn, ExistingDevice, NewDevice, signIn } from '../../../src/client/devices.ts'
import { ClientError } from '../../../src/client/errors.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer, type RunningServer } from '../../../src/runtime/node-server.ts'
import { call } from '../../helpers/account-client.ts'
import { otherCode, type Intent, type TransportName } from '../client/harness.ts'
import {
  E2E_ENV,
  ELSEWHERE,
  HOME,
  HOME_TOO,
  connector,
  createUser,
  fetchFrom,
  passwordLogin,
  passwordStepUp,
  qrLogin,
  whoami,
  type DeviceAt,
} from './e2e-harness.ts'

let server: RunningServer
let dataDir: string
let phone: DeviceAt
let tv: DeviceAt

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'qrelay-e2e-'))
  server = await startNodeServer(parseConfig({ ...E2E_ENV, QRELAY_PORT: '0', QRELAY_DATA_DIR: dataDir }))
  phone = { baseUrl: server.url, peer: HOME }
  tv = { baseUrl: server.url, peer: HOME_TOO }
  await createUser(phone, 'alice')
})
afterAll(async () => {
  await server?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

const INTENTS: Intent[] = ['new shows', 'existing shows']
const TRANSPORTS: Array<[TransportName, TransportName]> = [
  ['http', 'http'],
  ['ws', 'ws'],
  ['http', 'ws'],
]

const deviceIds = async (token: string): Promise<string[]> => {
  const listed = await call((p, i) => fetchFrom(HOME)(`${server.url}${p}`, i), 'GET', '/v1/devices', undefined, token)
  expect(listed.status).toBe(200)
  return (listed.body.devices as Array<{ device_id: string }>).map((d) => d.device_id)
}

const asClientError = (value: unknown): ClientError => {
  expect(value).toBeInstanceOf(ClientError)
  return value as ClientError
}

describe('QR login end to end (memory + SQLite)', () => {
  describe.each(INTENTS)('when the %s the QR', (intent) => {
    it.each(TRANSPORTS)(
      'mints a DPoP-bound session with the new device on %s and the existing device on %s',
      async (newTransport, existingTransport) => {
        const token = await passwordLogin(phone, 'alice')
        const outcome = await qrLogin({ intent, newAt: tv, existingAt: phone, newTransport, existingTransport, accessToken: token })
        expect(outcome.approval).toMatchObject({ status: 'approved' })
        const session = outcome.session
        if (session instanceof Error) throw session
        expect(session).toMatchObject({ scope: 'device', expiresIn: 300 })
        expect(session.deviceId).toMatch(/\S/)
        expect(session.dpop.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)

        // The person saw that this signs in ANOTHER device, and what it asked to be called.
        expect(outcome.contexts).toHaveLength(1)
        expect(outcome.contexts[0]).toMatchObject({
          action: 'sign_in_another_device',
          requested_device_name: 'Kitchen TV',
          proximity: { relation: 'same_prefix' },
        })
        expect(outcome.contexts[0]?.message).toContain('ANOTHER')
        const steps = outcome.steps.map((s) => s.step)
        expect(steps[0]).toBe('dpop_key')
        expect(steps).toContain('grant_requested')
        expect(steps.at(-1)).toBe('session_minted')

        expect(await whoami(session)).toMatchObject({ status: 200, body: { user_id: 'alice', device_id: session.deviceId } })
        // Bearer use of the DPoP-bound token is refused.
        const bearer = await fetch(`${server.url}/v1/account/whoami`, { headers: { authorization: `Bearer ${session.accessToken}` } })
        expect(bearer.status).toBe(401)
        expect(await deviceIds(token)).toContain(session.deviceId)
        // Secrets never print.
        expect(JSON.stringify(session)).not.toContain(session.accessToken)
        expect(inspect(session)).not.toContain(session.refreshToken)
        expect(outcome.shown.status).toBe('closed')
      },
    )

    it('refreshes the minted session with a proof by its key', async () => {
      const token = await passwordLogin(phone, 'alice')
      const { session } = await qrLogin({ intent, newAt: tv, existingAt: phone, accessToken: token })
      if (session instanceof Error) throw session
      const before = session.accessToken
      await session.refresh()
      expect(session.accessToken).not.toBe(before)
      expect((await whoami(session)).status).toBe(200)
    })

    it('stops the new device with ACCESS_DENIED when the person declines', async () => {
      const token = await passwordLogin(phone, 'alice')
      const before = await deviceIds(token)
      const outcome = await qrLogin({ intent, newAt: tv, existingAt: phone, accessToken: token, confirm: () => false })
      expect(outcome.approval).toMatchObject({ status: 'declined' })
      expect(asClientError(outcome.session).code).toBe('ACCESS_DENIED')
      expect(await deviceIds(token)).toEqual(before)
    })

    it('steps up with the password through the app when the devices are on different networks', async () => {
      const token = await passwordLogin(phone, 'alice')
      const outcome = await qrLogin({
        intent,
        newAt: { baseUrl: server.url, peer: ELSEWHERE },
        existingAt: phone,
        accessToken: token,
        stepUp: passwordStepUp('alice'),
      })
      expect(outcome.contexts[0]?.proximity.relation).toBe('unknown')
      expect(outcome.challenges).toHaveLength(1)
      expect(outcome.challenges[0]?.flows).toEqual([{ stages: ['m.login.password'] }])
      expect(outcome.approval).toMatchObject({ status: 'approved' })
      if (outcome.session instanceof Error) throw outcome.session
      expect((await whoami(outcome.session)).status).toBe(200)
    })

    it('declines and fails with STEP_UP_FAILED when the app cannot step up', async () => {
      const token = await passwordLogin(phone, 'alice')
      const wrong = await qrLogin({
        intent,
        newAt: { baseUrl: server.url, peer: ELSEWHERE },
        existingAt: phone,
        accessToken: token,
        stepUp: passwordStepUp('alice', 'not the password!!'),
      })
      expect(asClientError(wrong.approval).code).toBe('STEP_UP_FAILED')
      expect(asClientError(wrong.session).code).toBe('ACCESS_DENIED')
      const none = await qrLogin({
        intent,
        newAt: { baseUrl: server.url, peer: ELSEWHERE },
        existingAt: phone,
        accessToken: token,
        stepUp: () => null,
      })
      expect(asClientError(none.approval).code).toBe('STEP_UP_FAILED')
      expect(asClientError(none.session).code).toBe('ACCESS_DENIED')
    })

    it('burns the channel on a check-code mismatch: no grant is approved, no device is added', async () => {
      const token = await passwordLogin(phone, 'alice')
      const before = await deviceIds(token)
      const outcome = await qrLogin({ intent, newAt: tv, existingAt: phone, accessToken: token, typedCode: otherCode })
      const showerError = intent === 'new shows' ? outcome.session : outcome.approval
      const scannerError = intent === 'new shows' ? outcome.approval : outcome.session
      expect(asClientError(showerError).code).toBe('CHECK_CODE_MISMATCH')
      // Over HTTP an aborted channel reads as gone; over a WebSocket the abort comes with its reason.
      expect(['ABORTED', 'CHANNEL_GONE']).toContain(asClientError(scannerError).code)
      expect(outcome.contexts).toEqual([])
      expect(outcome.shown.status).toBe('closed')
      expect(outcome.scan.status).toBe('closed')
      expect(await deviceIds(token)).toEqual(before)
    })
  })

  it('sends the scanned ticket: a QR created on another network than the grant request costs a step-up', async () => {
    const token = await passwordLogin(phone, 'alice')
    // The QR's channel was created far from where the grant is requested (a relayed QR code).
    const relayed = await qrLogin({ intent: 'new shows', newAt: tv, newChannelPeer: ELSEWHERE, existingAt: phone, accessToken: token })
    expect(relayed.approval).toBeInstanceOf(ClientError)
    expect((relayed.approval as ClientError).code).toBe('STEP_UP_FAILED')
    expect(asClientError(relayed.session).code).toBe('ACCESS_DENIED')
    // The same without the detour needs no step-up.
    const direct = await qrLogin({ intent: 'new shows', newAt: tv, existingAt: phone, accessToken: token })
    expect(direct.approval).toMatchObject({ status: 'approved' })
  })

  it('refuses a second device racing to join the channel, and the first one still signs in', async () => {
    const token = await passwordLogin(phone, 'alice')
    const shown = await ExistingDevice.showQr({ baseUrl: server.url, transport: connector('http', phone) })
    const first = await NewDevice.scanQr(shown.qrLink, { baseUrl: server.url, transport: connector('http', tv) })
    const racer = await NewDevice.scanQr(shown.qrLink, {
      baseUrl: server.url,
      transport: connector('ws', { baseUrl: server.url, peer: ELSEWHERE }),
    })
    await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), first.connect({ timeoutMs: 10_000 })])
    await expect(racer.connect({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'REFUSED' })
    await shown.confirmCheckCode(first.checkCode)
    const [session, approval] = await Promise.all([
      signIn(first, { baseUrl: server.url, fetch: fetchFrom(HOME_TOO), deviceName: 'Laptop' }),
      approveSignIn(shown, { baseUrl: server.url, fetch: fetchFrom(HOME), accessToken: token, confirm: () => true }),
    ])
    expect(approval.status).toBe('approved')
    expect((await whoami(session)).body).toMatchObject({ user_id: 'alice', device_id: session.deviceId })
    await shown.close()
  })

  it.each<TransportName>(['http', 'ws'])(
    'stops a new device already polling when the check code then mismatches (%s)',
    async (transport) => {
      const shown = await ExistingDevice.showQr({ baseUrl: server.url, transport: connector(transport, phone) })
      const scan = await NewDevice.scanQr(shown.qrLink, { baseUrl: server.url, transport: connector(transport, tv) })
      await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
      let sent!: () => void
      const grantSent = new Promise<void>((done) => (sent = done))
      const started = Date.now()
      const signingIn = signIn(scan, {
        baseUrl: server.url,
        fetch: fetchFrom(HOME_TOO),
        onStep: (s) => s.step === 'grant_sent' && sent(),
      }).catch((e: unknown) => e)
      await grantSent
      await expect(shown.confirmCheckCode(otherCode(scan.checkCode))).rejects.toMatchObject({ code: 'CHECK_CODE_MISMATCH' })
      const error = asClientError(await signingIn)
      expect(['ABORTED', 'CHANNEL_GONE']).toContain(error.code)
      if (transport === 'ws') expect(error.abortReason).toBe('check_code_mismatch')
      expect(Date.now() - started).toBeLessThan(10_000)
    },
  )

  it('refuses to run signIn on the existing device or before the channel is open', async () => {
    const shown = await NewDevice.showQr({ baseUrl: server.url, transport: connector('http', tv) })
    await expect(signIn(shown, { baseUrl: server.url })).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await shown.close()
  })
})

describe('npm run demo', () => {
  it('runs both intents against an in-process server and exits 0', async () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('QRELAY_')) env[k] = v
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        done(c)
      })
    })
    expect(code, out.slice(-3000)).toBe(0)
    expect(out).toContain('whoami')
    expect(out.match(/session minted/g)?.length).toBe(2)
  }, 70_000)
})
