/**
 * The server the page tests drive: a real qrelay process on a free port with its data in `dataDir`,
 * cheap password hashing (these tests sign in often), an admin token, and the named accounts created
 * through the admin API, all with {@link PASSWORD}.
 */
import { expect } from 'vitest'
import { call, viaFetch } from '../helpers/account-client.ts'
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.ts'
import type { Page } from 'playwright-core'

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
export const PASSWORD = 'correct horse battery staple'

/**
 * Settings that make the server trust `x-real-ip` from loopback (the test is its proxy): a context or
 * request sending {@link FROM_ANOTHER_NETWORK} then looks like a device on another network, far from
 * the loopback browser, and the approval policy asks for a step-up.
 */
export const TRUST_REAL_IP_HEADER: Readonly<Record<string, string>> = { QRELAY_TRUSTED_PROXY_HEADER: 'x-real-ip' }

/** Headers of a client on another network than the loopback browser (needs {@link TRUST_REAL_IP_HEADER}). */
export const FROM_ANOTHER_NETWORK: Readonly<Record<string, string>> = { 'x-real-ip': '198.51.100.7' }

/** Starts the server with `env` on top of the page tests' settings and creates `usernames`. */
export const startPagesServer = async (
  dataDir: string,
  usernames: readonly string[],
  env: Record<string, string> = {},
): Promise<SpawnedServer> => {
  const server = await spawnServer({
    QRELAY_DATA_DIR: dataDir,
    QRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    QRELAY_ARGON2_MEMORY_KIB: '64',
    QRELAY_ARGON2_ITERATIONS: '1',
    ...env,
  })
  const send = viaFetch(server.url)
  for (const username of usernames) {
    expect((await call(send, 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  }
  return server
}

/** Signs `page` in to the pages at `baseUrl` as `username` and waits for `/account`. */
export const signInToPages = async (page: Page, baseUrl: string, username: string): Promise<void> => {
  await page.goto(`${baseUrl}/signin?next=/account`)
  await page.fill('#username', username)
  await page.fill('#password', PASSWORD)
  await page.press('#password', 'Enter')
  await page.waitForSelector('#devices-h')
}
