/**
 * The outbox survives a restart: a real qrelay process records a security event while the operator's
 * receiver is down (connection refused), is stopped, and a new process on the same store delivers the
 * event exactly once, signed, as soon as the receiver is up. Shared by the SQLite and Redis runs.
 */
import { expect } from 'vitest'
import { call, login, viaFetch, withUia } from '../../helpers/account-client.ts'
import { spawnServer } from '../../helpers/spawn-server.ts'
import { startWebhookReceiver } from '../../helpers/webhook-receiver.ts'
import { parseWebhookSecret, verifyWebhook } from '../../../src/core/webhooks/signature.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'

export const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const PASSWORD = 'correct horse battery staple'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the scenario with `storeEnv` (the store settings both processes share). */
export const webhookRestartScenario = async (storeEnv: Record<string, string>): Promise<void> => {
  // A port nobody listens on yet: the first process's deliveries are refused.
  const probe = await startWebhookReceiver()
  const port = probe.port
  await probe.close()
  const env = {
    ...storeEnv,
    QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    QRELAY_ARGON2_MEMORY_KIB: '64',
    QRELAY_ARGON2_ITERATIONS: '1',
    QRELAY_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/qrelay`,
    QRELAY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    QRELAY_WEBHOOK_BACKOFF_BASE_MS: '100',
    QRELAY_WEBHOOK_BACKOFF_MAX_MS: '300',
    QRELAY_WEBHOOK_POLL_INTERVAL_MS: '50',
  }

  const first = await spawnServer(env)
  let deviceId: string
  try {
    const send = viaFetch(first.url)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const tokens = await login(send, 'alice', PASSWORD, undefined, 'Laptop')
    deviceId = tokens.device_id as string
    const changed = await withUia(
      send,
      'POST',
      '/v1/account/password',
      { new_password: 'a brand new passphrase' },
      PASSWORD,
      undefined,
      tokens.access_token,
    )
    expect(changed.final.status).toBe(200)
    // The first attempts are refused and rescheduled (bounded wait).
    for (let i = 0; i < 50 && !first.logs().some((l) => l.includes('webhook delivery failed')); i++) await sleep(100)
    expect(first.logs().some((l) => l.includes('webhook delivery failed') && l.includes('ECONNREFUSED'))).toBe(true)
  } finally {
    await first.stop()
  }

  const receiver = await startWebhookReceiver(port)
  const second = await spawnServer(env)
  try {
    // The sign-in (finding 40), then the password change: one account's events go out in order.
    const [signedIn, got] = await receiver.waitFor(2, 10_000)
    // Give a duplicate every chance to show up: several poll intervals and backoffs.
    await sleep(1000)
    expect(receiver.received).toHaveLength(2)
    const key = parseWebhookSecret(WEBHOOK_SECRET) as Uint8Array
    for (const one of [signedIn, got]) expect(verifyWebhook(key, one!.headers, one!.body, Date.now())).toBe(true)
    expect(JSON.parse(signedIn!.body)).toMatchObject({
      type: 'security.device_signed_in',
      data: { device_id: deviceId, details: { origin: 'password', device_name: 'Laptop' } },
    })
    const body = JSON.parse(got!.body)
    expect(body).toMatchObject({ type: 'security.password_changed', data: { device_id: deviceId } })
    expect(second.logs().some((l) => l.includes('webhook delivered'))).toBe(true)
  } finally {
    await second.stop()
    await receiver.close()
  }
  for (const logs of [first.logs(), second.logs()]) {
    const text = logs.join('\n')
    expect(text).not.toContain(WEBHOOK_SECRET.slice('whsec_'.length))
    expect(text).not.toContain(PASSWORD)
  }
}
