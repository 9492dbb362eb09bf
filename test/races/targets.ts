/**
 * Where a race runs: an app on one store configuration, reached through `app.request()` in this
 * process, or several real qrelay processes sharing one Redis (reached with fetch on loopback). Every
 * request names its client address (`x-test-peer` in process, `x-forwarded-for` from the trusted
 * loopback proxy for real servers), so races can play many clients.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type Database from 'libsql'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type MakeAppOptions } from '../helpers/make-app.ts'
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.ts'
import { TEST_ENV } from '../integration/accounts/flow-suite.ts'
import type { RaceTarget } from './target.ts'

export type { RaceTarget }

/** The store configurations a race can run on. */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'redis-2p'

/**
 * Limits raised so every attempt reaches the atomic step in the store (the race itself); with the
 * defaults most attempts are turned away earlier by a rate limit with 429, which proves less.
 */
export const RAISED_LIMITS: Record<string, string> = {
  QRELAY_RATE_READS_PER_CHANNEL: '1000000/60s',
  QRELAY_RATE_REFUSED_PER_CLIENT: '1000000/600s',
  QRELAY_RATE_USER_CODE_PER_ACCOUNT: '1000000/300s',
  QRELAY_RATE_USER_CODE_PER_CLIENT: '1000000/300s',
  QRELAY_RATE_TOKEN_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT: '1000000/900s',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_TRUSTED: '1000000/900s',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_NETWORK: '1000000/900s',
  QRELAY_RATE_AUTH_FAILURES_PER_CLIENT: '1000000/900s',
  QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE: '1000000/900s',
}

/** Cheap argon2id, admin endpoint, approvers of any age. */
export const RACE_ENV: Record<string, string> = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_LOG_LEVEL: 'silent' }

/** What a target is built with. */
export interface TargetOptions {
  /** Raise the rate limits (default) or keep the defaults. */
  limits?: 'raised' | 'default'
  /** Redis URL (the redis kinds). */
  redisUrl?: string
  /** Key prefix on Redis (default: unique per target). */
  keyPrefix?: string
}

let serial = 0
const prefixOf = (label: string): string => `race:${label}:${process.pid}:${Date.now().toString(36)}:${serial++}:`

const inProcess = (
  label: string,
  env: Record<string, string>,
  build: Pick<MakeAppOptions, 'store' | 'durable'>,
  release: () => Promise<void>,
): RaceTarget => {
  // Real wall-clock start: Redis expires keys by its own clock.
  const t = makeApp({ env, clock: fakeClock(Date.now()), ...build })
  return {
    label,
    processes: 1,
    send: (peer) => async (path, init) =>
      t.app.request(path, { ...init, headers: { 'x-test-peer': peer, ...(init.headers as Record<string, string>) } }),
    now: () => t.clock.now(),
    close: async () => {
      await t.store.close()
      await release()
    },
  }
}

/** Builds the target of `kind`. */
export const makeTarget = async (kind: StoreKind, options: TargetOptions = {}): Promise<RaceTarget> => {
  const env = { ...RACE_ENV, ...(options.limits === 'default' ? {} : RAISED_LIMITS) }
  if (kind === 'memory') return inProcess('memory + memory', env, {}, async () => {})
  if (kind === 'sqlite') {
    const root = mkdtempSync(join(tmpdir(), 'qrelay-races-'))
    let db: Database.Database | undefined
    return inProcess(
      'memory + SQLite',
      env,
      {
        durable: (clock) => {
          db = openSqlite(root)
          return sqliteStore({ db, clock })
        },
      },
      async () => {
        db?.close()
        rmSync(root, { recursive: true, force: true })
      },
    )
  }
  const url = options.redisUrl
  if (url === undefined) throw new Error(`${kind} needs a Redis URL`)
  const keyPrefix = options.keyPrefix ?? prefixOf(kind)
  if (kind === 'redis') {
    const client = new Redis(url, { maxRetriesPerRequest: 2 })
    return inProcess(
      'Redis + Redis',
      env,
      { store: (clock) => redisStore({ client, keyPrefix, clock }), durable: (clock) => redisDurableStore({ client, keyPrefix, clock }) },
      async () => void (await client.quit()),
    )
  }
  return twoProcesses(url, keyPrefix, env)
}

/** Caps the requests in flight to one process, so 10 000 attempts do not open 10 000 sockets at once. */
const pool = (limit: number) => {
  let active = 0
  const waiting: Array<() => void> = []
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/** Requests sent again because the server had closed the kept-alive socket (see below). */
export const transportRetries = { count: 0 }

/**
 * fetch, sent again (twice at most) when it fails with UND_ERR_SOCKET or ECONNRESET: under this load the client's
 * event loop lags past the server's keep-alive timeout (5 s), and undici reuses a socket the server
 * has just closed. Sound for the race: a request the server did decide but whose answer was lost
 * would, sent again, be a loser, so a lost winning answer shows as 0 winners, never as 2.
 */
const fetchRetryingClosedSockets = async (url: string, init: RequestInit): Promise<Response> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init)
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code
      if ((code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') || attempt >= 2) throw error
      transportRetries.count++
    }
  }
}

/** Two real qrelay processes on one Redis, each with its own data directory. */
const twoProcesses = async (url: string, keyPrefix: string, env: Record<string, string>): Promise<RaceTarget> => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'qrelay-races-')))
  const shared = {
    ...env,
    QRELAY_STORE: 'redis',
    QRELAY_REDIS_URL: url,
    QRELAY_REDIS_KEY_PREFIX: keyPrefix,
    QRELAY_UIA_KEY: '11'.repeat(32),
    QRELAY_LOG_HASH_KEY: '22'.repeat(32),
    QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
    QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
    // The child logs "listening" at info, which spawnServer waits for.
    QRELAY_LOG_LEVEL: 'info',
  }
  const servers: SpawnedServer[] = await Promise.all(dirs.map((dir) => spawnServer({ ...shared, QRELAY_DATA_DIR: dir })))
  const pools = servers.map(() => pool(256))
  return {
    label: 'Redis + Redis, 2 processes',
    processes: servers.length,
    send: (peer, process = 0) => {
      const server = servers[process % servers.length] as SpawnedServer
      const limit = pools[process % servers.length] as ReturnType<typeof pool>
      return (path, init) =>
        limit(async () => {
          const res = await fetchRetryingClosedSockets(`${server.url}${path}`, {
            ...init,
            headers: { 'x-forwarded-for': peer, ...(init.headers as Record<string, string>) },
          })
          // Read the body inside the pool slot, so the socket is free when the slot is.
          const body = await res.arrayBuffer()
          return new Response(res.status === 204 ? null : body, { status: res.status, headers: res.headers })
        })
    },
    now: () => Date.now(),
    close: async () => {
      await Promise.all(servers.map((s) => s.stop()))
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
}
