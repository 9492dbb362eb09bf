/**
 * Accounts on the embedded default (SQLite in QRELAY_DATA_DIR) survive a restart: a user created and
 * signed in on one server process keeps working access and refresh tokens on the next.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { call, login, refresh, viaFetch } from '../../helpers/account-client.ts'
import { spawnServer } from '../../helpers/spawn-server.ts'
import { ADMIN_TOKEN } from '../accounts/flow-suite.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-restart-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const env = {
  QRELAY_DATA_DIR: dataDir,
  QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
  QRELAY_ARGON2_MEMORY_KIB: '64',
  QRELAY_ARGON2_ITERATIONS: '1',
}

describe('accounts across a restart', () => {
  it('keeps accounts, devices and tokens when the server restarts on the same data directory', async () => {
    const first = await spawnServer(env)
    let tokens: Record<string, any>
    try {
      const send = viaFetch(first.url)
      const created = await call(
        send,
        'POST',
        '/v1/admin/users',
        { username: 'alice', password: 'correct horse battery staple' },
        ADMIN_TOKEN,
      )
      expect(created.status).toBe(201)
      tokens = await login(send, 'alice', 'correct horse battery staple', undefined, 'Kiosk')
    } finally {
      await first.stop()
    }
    // Nothing secret reached the logs: no password, no token secret, no admin token.
    const logs = first.logs().join('\n')
    for (const secret of ['correct horse', ADMIN_TOKEN, tokens.access_token.split('.')[1], tokens.refresh_token.split('.')[1]]) {
      expect(logs).not.toContain(secret)
    }

    const second = await spawnServer(env)
    try {
      const send = viaFetch(second.url)
      const who = await call(send, 'GET', '/v1/account/whoami', undefined, tokens.access_token)
      expect(who).toMatchObject({ status: 200, body: { user_id: 'alice', device_id: tokens.device_id } })
      const devices = await call(send, 'GET', '/v1/devices', undefined, tokens.access_token)
      expect(devices.body.devices.map((d: { display_name: string }) => d.display_name)).toEqual(['Kiosk'])
      const rotated = await refresh(send, tokens.refresh_token)
      expect(rotated.status).toBe(200)
      expect((await call(send, 'GET', '/v1/account/whoami', undefined, rotated.body.access_token)).status).toBe(200)
    } finally {
      await second.stop()
    }
  }, 60_000) // two server starts: a loaded runner needs more than the default
})
