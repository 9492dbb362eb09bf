/**
 * The server the page tests drive: a real qrelay process on a free port with its data in `dataDir`,
 * cheap password hashing (these tests sign in often), an admin token, and the named accounts created
 * through the admin API, all with {@link PASSWORD}.
 */
import { expect } from 'vitest'
import { call, viaFetch } from '../helpers/account-client.ts'
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.ts'

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
export const PASSWORD = 'correct horse battery staple'

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
