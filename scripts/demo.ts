/**
 * `npm run demo`: a whole QR login with the device SDK against a qrelay server started in this
 * process (127.0.0.1, port 0, memory store, SQLite in a temp directory), in both intents (the new
 * device shows the QR; the existing device shows it), printing each step. Exits 0 when both logins
 * end with a working DPoP-bound session; 1 on any failure or after DEMO_TIMEOUT_MS.
 *
 * @see ../docs/qr-login.md
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import QRCode from 'qrcode'
import WebSocket from 'ws'
import { approveSignIn, ExistingDevice, NewDevice, preferWebSocket, signIn, type SignInStep } from '../src/client/devices.ts'
import { parseConfig } from '../src/config.ts'
import { startNodeServer, type RunningServer } from '../src/runtime/node-server.ts'

const DEMO_TIMEOUT_MS = 45_000
const USERNAME = 'alice'
const PASSWORD = 'demo horse battery staple'
type Intent = 'the new device shows the QR' | 'the existing device shows the QR'

const say = (who: string, text: string): void => {
  process.stdout.write(`  ${who.padEnd(16)} ${text}\n`)
}

const json = async (res: Response): Promise<Record<string, any>> => (await res.json()) as Record<string, any>

/** Creates the demo user with the admin endpoint. */
const createUser = async (baseUrl: string, adminToken: string): Promise<void> => {
  const res = await fetch(`${baseUrl}/v1/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
  })
  if (res.status !== 201) throw new Error(`creating the user failed: HTTP ${res.status}`)
}

/** Signs the existing device in with the password (one UIA round); returns its access token. */
const passwordLogin = async (baseUrl: string): Promise<string> => {
  const post = (body: unknown) =>
    fetch(`${baseUrl}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const request = { username: USERNAME, initial_device_display_name: 'Phone' }
  const challenge = await json(await post(request))
  const res = await post({ ...request, auth: { type: 'm.login.password', session: challenge.session, password: PASSWORD } })
  const body = await json(res)
  if (res.status !== 200 || typeof body.access_token !== 'string') throw new Error(`password login failed: HTTP ${res.status}`)
  return body.access_token
}

const describeStep = (step: SignInStep): string => {
  switch (step.step) {
    case 'dpop_key':
      return `DPoP key made (jkt ${step.jkt.slice(0, 12)}…)`
    case 'grant_requested':
      return `grant requested: user code ${step.userCode}, expires in ${step.expiresIn} s, poll every ${step.interval} s`
    case 'grant_sent':
      return 'grant sent to the existing device over the secure channel'
    case 'poll':
      return `polled: ${step.answer} (interval ${step.intervalSeconds} s)`
    case 'approved_by_peer':
      return 'the existing device says: approved'
    case 'session_minted':
      return `session minted: device ${step.deviceId}`
  }
}

const runLogin = async (server: RunningServer, intent: Intent, accessToken: string): Promise<void> => {
  process.stdout.write(`\n== QR login: ${intent} ==\n`)
  const baseUrl = server.url
  const newShows = intent === 'the new device shows the QR'
  const [showerName, scannerName] = newShows ? ['new device', 'existing device'] : ['existing device', 'new device']
  // Node 20 has no WebSocket of its own: the ws package's, so each message arrives when it is sent.
  const channelOptions = () => ({ baseUrl, transport: preferWebSocket({ baseUrl, WebSocket }) })
  const shown = newShows ? await NewDevice.showQr(channelOptions()) : await ExistingDevice.showQr(channelOptions())
  say(showerName, 'channel created; showing this QR code:')
  process.stdout.write(await QRCode.toString(shown.qrLink, { type: 'terminal', small: true }))
  const scan = newShows
    ? await ExistingDevice.scanQr(shown.qrLink, channelOptions())
    : await NewDevice.scanQr(shown.qrLink, channelOptions())
  say(scannerName, `QR scanned; ticket verified (creator network ${scan.creatorNetwork ?? 'unknown'})`)
  await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
  say(scannerName, `secure channel up; check code shown: ${scan.checkCode}`)
  await shown.confirmCheckCode(scan.checkCode)
  say(showerName, `check code typed: ${scan.checkCode} (matches)`)

  const [newSession, existingSession] = newShows ? [shown, scan] : [scan, shown]
  const [session, approval] = await Promise.all([
    signIn(newSession, { baseUrl, deviceName: 'Demo TV', onStep: (step) => say('new device', describeStep(step)) }),
    approveSignIn(existingSession, {
      baseUrl,
      accessToken,
      confirm: (context) => {
        say('existing device', `approval context: ${context.message}`)
        say(
          'existing device',
          `  device name "${context.requested_device_name ?? '?'}", user code ${context.user_code}, proximity ${context.proximity.relation}`,
        )
        say('existing device', '  the person taps Approve')
        return true
      },
      stepUp: () => {
        say('existing device', 'step-up asked: the person enters the password')
        return { type: 'm.login.password', identifier: { type: 'm.id.user', user: USERNAME }, password: PASSWORD }
      },
    }),
  ])
  say('existing device', `approved (${approval.status})`)
  await existingSession.close()
  const whoamiRes = await session.authorizedFetch('/v1/account/whoami')
  const me = await json(whoamiRes)
  if (whoamiRes.status !== 200) throw new Error(`whoami failed: HTTP ${whoamiRes.status}`)
  say('new device', `whoami with DPoP: user ${me.user_id}, device ${me.device_id} (scope "${session.scope}")`)
}

const main = async (): Promise<void> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qrelay-demo-'))
  const adminToken = randomBytes(24).toString('hex')
  let server: RunningServer | undefined
  try {
    server = await startNodeServer(
      parseConfig({
        QRELAY_HOST: '127.0.0.1',
        QRELAY_PORT: '0',
        QRELAY_LOG_LEVEL: 'silent',
        QRELAY_DATA_DIR: dataDir,
        QRELAY_ADMIN_TOKEN: adminToken,
        QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
        QRELAY_ARGON2_MEMORY_KIB: '64',
        QRELAY_ARGON2_ITERATIONS: '1',
        QRELAY_POLL_INTERVAL_SECONDS: '1',
      }),
    )
    process.stdout.write(`qrelay demo server on ${server.url} (memory store, SQLite in a temp directory)\n`)
    await createUser(server.url, adminToken)
    say('operator', `user "${USERNAME}" created`)
    const accessToken = await passwordLogin(server.url)
    say('existing device', 'signed in with the password')
    await runLogin(server, 'the new device shows the QR', accessToken)
    await runLogin(server, 'the existing device shows the QR', accessToken)
    process.stdout.write('\ndemo finished: both intents signed a new device in\n')
  } finally {
    await server?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

const timer = setTimeout(() => {
  process.stderr.write(`demo timed out after ${DEMO_TIMEOUT_MS} ms\n`)
  process.exit(1)
}, DEMO_TIMEOUT_MS)
timer.unref()

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
