/**
 * The fuzz target: a real qrelay server on 127.0.0.1, port 0, started in-process with the Node
 * runtime's server factory (memory + SQLite, or Redis), and a recorder of every store write a request
 * causes, so the invariant checker can tell whether a 4xx changed state.
 *
 * - memory: the ephemeral store's channel and key-value writes are recorded by wrapping the methods of
 *   the store object the server itself uses (counters are not wrapped: rate and abuse counters); the
 *   SQLite file is watched from a second connection (`PRAGMA data_version`), and when it moved, the
 *   rows are diffed against the previous snapshot.
 * - redis: keyspace notifications on a second connection name every key a command wrote under the
 *   run's prefix (expiries and evictions are not writes); a marker write orders them after the request.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { Redis } from 'ioredis'
import { parseConfig } from '../../src/config.ts'
import { opaqueKey } from '../../src/adapters/storage/opaque-key.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import type { Logger } from '../../src/ports.ts'

/** One write seen during a request: which store, which key (or table row), which operation. */
export interface Write {
  store: 'ephemeral' | 'sqlite' | 'redis'
  key: string
  op: string
}

/**
 * Records the writes between {@link Recorder.begin} and {@link Recorder.end}. A request may write after
 * its answer came back: work the app does not await (a device's last-seen, a publish), or a handler
 * still running when Node's parser already refused the rest of the bytes or the connection closed.
 * `end` therefore keeps looking until a round of `quietMs` brings no new write (at most
 * {@link MAX_QUIET_ROUNDS} rounds), so those writes count for the request that made them, never for
 * the next one (the checker's earlier false "state change on a 4xx" flags, docs/security/fuzz.md).
 */
export interface Recorder {
  /** Takes in the writes made since the last look (state building) without reporting them. */
  settle(): Promise<void>
  begin(): Promise<void>
  end(quietMs?: number): Promise<Write[]>
  /** Looks that ended on {@link MAX_QUIET_ROUNDS} with writes still coming (none expected). */
  readonly unquiet: number
  close(): Promise<void>
}

/** The bound of {@link Recorder.end}'s quiet rounds. */
export const MAX_QUIET_ROUNDS = 40

/**
 * Quiet time after an answered request (ms). 0: one turn of the event loop per round. The server runs
 * in this process, so un-awaited work that waits on nothing has finished before the answer is read;
 * what waits on Redis lands before the marker of the next look (one more round trip, see `flush`).
 */
export const QUIET_MS = 0

/** Quiet time after an exchange the parser cut short or the server closed (ms): the handler may still run. */
export const QUIET_MS_CUT_SHORT = 20

/**
 * Looks (`look` returns how many writes are known so far) until a round of `quietMs` adds none.
 * Returns false when the bound was reached with writes still coming.
 */
const waitQuiet = async (look: () => Promise<number>, quietMs: number): Promise<boolean> => {
  let known = await look()
  for (let round = 0; round < MAX_QUIET_ROUNDS; round++) {
    await new Promise((resolve) => (quietMs === 0 ? setImmediate(resolve) : setTimeout(resolve, quietMs)))
    const now = await look()
    if (now === known) return true
    known = now
  }
  return false
}

export interface FuzzTarget {
  url: string
  port: number
  server: RunningServer
  recorder: Recorder
  /** The Redis key prefix of this run (redis only). */
  keyPrefix?: string
  stop(): Promise<void>
}

/** The settings every fuzz target runs with: cheap argon2, every endpoint on, limits out of the way. */
export const FUZZ_ENV: Readonly<Record<string, string>> = {
  QRELAY_PORT: '0',
  QRELAY_HOST: '127.0.0.1',
  QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
  QRELAY_LOG_LEVEL: 'silent',
  QRELAY_ARGON2_MEMORY_KIB: '64',
  QRELAY_ARGON2_ITERATIONS: '1',
  QRELAY_REGISTRATION_ENABLED: 'true',
  QRELAY_ADMIN_TOKEN: 'admin-token-0123456789abcdef0123456789',
  QRELAY_INTROSPECTION_CLIENTS: 'rs1:introspection-secret-0123456789abcdef0123',
  QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
  QRELAY_QUARANTINE_SECONDS: '0',
  QRELAY_POLL_INTERVAL_SECONDS: '1',
  // Every request comes from 127.0.0.1: per-address limits and the abuse guard would soon answer
  // nothing but 429/403 and hide the code behind them. Their own tests live in test/security.
  QRELAY_ABUSE_ENABLED: 'false',
  QRELAY_RATE_CREATE_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_READS_PER_CHANNEL: '1000000/60s',
  QRELAY_RATE_WRITES_PER_CHANNEL: '1000000/60s',
  QRELAY_RATE_REFUSED_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_REGISTER_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_REGISTER_CHECKS_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_UIA_STARTS_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_DEVICE_TRUST_PER_ACCOUNT: '1000000/60s',
  QRELAY_MAX_DEVICES_PER_ACCOUNT: '100000',
  QRELAY_RATE_RENAMES_PER_DEVICE: '1000000/60s',
  QRELAY_RATE_TOKEN_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_AUTH_FAILURES_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT: '1000000/60s',
  QRELAY_RATE_USER_CODE_PER_CLIENT: '1000000/60s',
  QRELAY_RATE_USER_CODE_PER_ACCOUNT: '1000000/60s',
  QRELAY_RATE_IPV6_56_FACTOR: '256',
  QRELAY_RATE_IPV6_48_FACTOR: '65536',
  QRELAY_MAX_LIVE_CHANNELS: '1000000',
}

type AnyFn = (...args: any[]) => unknown

/**
 * Replaces `name` on `target` by a version that reports a write when `changed(result)`: after the
 * promise settles for a store method, at once for an in-process one (which answers without a promise).
 */
const wrap = (
  target: Record<string, unknown>,
  name: string,
  changed: (result: unknown) => boolean,
  report: (key: string) => void,
): void => {
  const original = target[name] as AnyFn
  target[name] = (...args: unknown[]) => {
    const seen = (result: unknown): unknown => {
      if (changed(result)) report(String(args[0]))
      return result
    }
    const result = original.apply(target, args)
    const thenable = typeof (result as PromiseLike<unknown> | undefined)?.then === 'function'
    return thenable ? Promise.resolve(result).then(seen) : seen(result)
  }
}

/**
 * A dumper of every SQLite row, keyed `table:<primary key values>`. The schema is read and the
 * statements prepared once (the server migrated before the recorder opens the file): preparing them
 * on every look cost more than reading the rows.
 */
const sqliteDumper = (db: Database.Database): (() => Map<string, string>) => {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]
  const readers = tables.map(({ name }) => {
    const columns = db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; pk: number }[]
    const pk = columns.filter((c) => c.pk > 0).map((c) => c.name)
    return { name, pk, select: db.prepare(`SELECT * FROM "${name}"`) }
  })
  return () => {
    const rows = new Map<string, string>()
    for (const { name, pk, select } of readers) {
      for (const row of select.all() as Record<string, unknown>[]) {
        const id = pk.length === 0 ? JSON.stringify(row) : pk.map((c) => String(row[c])).join('/')
        rows.set(`${name}:${id}`, JSON.stringify(row))
      }
    }
    return rows
  }
}

const memoryRecorder = (server: RunningServer, dataDir: string): Recorder => {
  let writes: Write[] = []
  const report = (store: Write['store'], op: string) => (key: string) => writes.push({ store, key, op })
  const channels = server.store.channels as unknown as Record<string, unknown>
  // The memory store's map is not listable outside the process (and its values hold the records, ids
  // included); a channel write is reported under the name a shared store gives it (Redis: the opaque
  // name of the id), so the secrets proof checks the naming rule, and the fuzzer still sees the write.
  const name = (id: string): string => `ch:${opaqueKey(id)}`
  // Each channel write, by the store method (async) and the in-process port's method (the Node fast path
  // and the WebSocket writes reach the same records at once), with what it is reported as.
  const channelWrites: Array<[method: string | null, now: string | null, changed: (r: unknown) => boolean, op: string]> = [
    ['create', 'createChannel', (r) => r === 'ok', 'channels.create'],
    ['replaceIfMatch', 'replaceChannelIfMatch', (r) => r === 'ok', 'channels.replace'],
    ['takeOnce', 'takeChannelOnce', (r) => r !== null, 'channels.take'],
    ['delete', null, (r) => r === true, 'channels.delete'],
    [null, 'writeChannelNow', (r) => r === 'ok', 'channels.replace'],
  ]
  const inProcess = server.store.inProcess as unknown as Record<string, unknown> | undefined
  for (const [method, now, changed, op] of channelWrites) {
    const reportWrite = (id: string) => report('ephemeral', op)(name(id))
    if (method !== null) wrap(channels, method, changed, reportWrite)
    if (now !== null && inProcess !== undefined) wrap(inProcess, now, changed, reportWrite)
  }
  const kv = server.store.kv as unknown as Record<string, unknown>
  wrap(kv, 'put', () => true, report('ephemeral', 'kv.put'))
  wrap(kv, 'replaceIfMatch', (r) => r === 'ok', report('ephemeral', 'kv.replace'))
  wrap(kv, 'takeOnce', (r) => r !== null, report('ephemeral', 'kv.take'))
  const db = new Database(join(dataDir, 'qrelay.db'), { readonly: true })
  // libsql answers `pragma(…, { simple: true })` with the row object, not the number: comparing those
  // never matched, so every look dumped the whole file. One prepared statement, the number read out.
  const dataVersion = db.prepare('PRAGMA data_version')
  const version = (): number => Number((dataVersion.get() as { data_version: number }).data_version)
  let lastVersion = version()
  const dumpSqlite = sqliteDumper(db)
  let snapshot = dumpSqlite()
  /** Diffs the SQLite rows when another connection committed since the last look. */
  const diffSqlite = (): void => {
    const now = version()
    if (now === lastVersion) return
    lastVersion = now
    const next = dumpSqlite()
    for (const [key, text] of next) {
      const before = snapshot.get(key)
      if (before === text) continue
      if (before === undefined) {
        writes.push({ store: 'sqlite', key, op: 'insert' })
        continue
      }
      const a = JSON.parse(before) as Record<string, unknown>
      const b = JSON.parse(text) as Record<string, unknown>
      const columns = Object.keys(b).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      writes.push({ store: 'sqlite', key, op: `update(${columns.join(',')})` })
    }
    // The periodic purge (every 600 s, no request's doing) deletes rows already expired, invisible
    // since their expiry: reported as `purge-expired`, which changes nothing a client can see.
    const nowMs = Date.now()
    const expired = (row: string | undefined): boolean => {
      const at = row === undefined ? undefined : (JSON.parse(row) as { expires_at_ms?: unknown }).expires_at_ms
      return typeof at === 'number' && at <= nowMs
    }
    const gone = [...snapshot.keys()].filter((key) => !next.has(key))
    const purgedFamilies = new Set(
      gone.filter((k) => k.startsWith('refresh_families:') && expired(snapshot.get(k))).map((k) => k.slice(17)),
    )
    for (const key of gone) {
      const familyOfUsed = key.startsWith('refresh_used:') ? key.slice(13).split('/')[0] : undefined
      const purged = expired(snapshot.get(key)) || (familyOfUsed !== undefined && purgedFamilies.has(familyOfUsed))
      writes.push({ store: 'sqlite', key, op: purged ? 'purge-expired' : 'delete' })
    }
    snapshot = next
  }
  const look = async (): Promise<number> => {
    diffSqlite()
    return writes.length
  }
  let unquiet = 0
  return {
    async settle() {
      if (!(await waitQuiet(look, QUIET_MS_CUT_SHORT))) unquiet++
      writes = []
    },
    async begin() {
      diffSqlite()
      writes = []
    },
    async end(quietMs = QUIET_MS) {
      if (!(await waitQuiet(look, quietMs))) unquiet++
      const out = writes
      writes = []
      return out
    },
    get unquiet() {
      return unquiet
    },
    async close() {
      db.close()
    },
  }
}

const redisRecorder = async (redisUrl: string, keyPrefix: string): Promise<Recorder> => {
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 2 })
  await admin.config('SET', 'notify-keyspace-events', 'KA')
  const sub = new Redis(redisUrl, { maxRetriesPerRequest: 2 })
  // One marker key per look: a late notification of an earlier look can never end a later one.
  const markerBase = `${keyPrefix}__fuzz_marker__:`
  let writes: Write[] = []
  let waiting: { marker: string; resolve: () => void } | undefined
  let timeouts = 0
  sub.on('pmessage', (_pattern: string, channel: string, event: string) => {
    const key = channel.slice(channel.indexOf(':') + 1)
    if (key.startsWith(markerBase)) {
      if (waiting !== undefined && key === waiting.marker && event === 'set') {
        const w = waiting
        waiting = undefined
        w.resolve()
      }
      return
    }
    if (event === 'expired' || event === 'evicted') return
    writes.push({ store: 'redis', key: key.slice(keyPrefix.length), op: event })
  })
  await sub.psubscribe(`__keyspace@*__:${keyPrefix}*`)
  let serial = 0
  /** Waits until every notification of the writes so far has arrived (the marker's comes after them). */
  const flush = async (): Promise<void> => {
    const marker = `${markerBase}${++serial}`
    const seen = new Promise<boolean>((resolve) => {
      waiting = { marker, resolve: () => resolve(true) }
    })
    await admin.set(marker, '1', 'PX', 5_000)
    if (!(await Promise.race([seen, new Promise<boolean>((r) => setTimeout(() => r(false), 2_000))]))) timeouts++
  }
  const look = async (): Promise<number> => {
    await flush()
    return writes.length
  }
  let unquiet = 0
  return {
    async settle() {
      if (!(await waitQuiet(look, QUIET_MS_CUT_SHORT))) unquiet++
      writes = []
    },
    async begin() {
      writes = []
    },
    async end(quietMs = QUIET_MS) {
      if (!(await waitQuiet(look, quietMs))) unquiet++
      const out = writes
      writes = []
      return out
    },
    get unquiet() {
      // A marker that never came back leaves the look unordered: counted like a look that never went quiet.
      return unquiet + timeouts
    },
    async close() {
      sub.disconnect()
      admin.disconnect()
    },
  }
}

export interface TargetOptions {
  store: 'memory' | 'redis'
  redisUrl?: string
  env?: Record<string, string>
  logger?: Logger
}

/** Starts a fuzz target; `stop()` stops the server and removes its data directory. */
export const startFuzzTarget = async (options: TargetOptions): Promise<FuzzTarget> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-fuzz-'))
  const keyPrefix = `fuzz:${process.pid}:${Date.now().toString(36)}:`
  const env: Record<string, string> = { ...FUZZ_ENV, QRELAY_DATA_DIR: dataDir, ...options.env }
  if (options.store === 'redis') {
    if (options.redisUrl === undefined) throw new Error('redis target without a URL')
    Object.assign(env, { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: options.redisUrl, QRELAY_REDIS_KEY_PREFIX: keyPrefix })
  }
  const server = await startNodeServer(parseConfig(env), options.logger === undefined ? {} : { logger: options.logger })
  const recorder = options.store === 'redis' ? await redisRecorder(options.redisUrl as string, keyPrefix) : memoryRecorder(server, dataDir)
  return {
    url: server.url,
    port: Number(new URL(server.url).port),
    server,
    recorder,
    ...(options.store === 'redis' ? { keyPrefix } : {}),
    async stop() {
      await recorder.close()
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
