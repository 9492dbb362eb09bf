/**
 * The ioredis client of a {@link RedisTarget}: one `Redis` for a single server, a `Cluster` over the
 * seed nodes, or a `Redis` that asks the sentinels for the current master (and asks again after a
 * failover). Every adapter takes a {@link RedisClient}, so the same scripts run on all three; the pub/sub
 * adapter switches to sharded pub/sub on a cluster (`../pubsub/redis.ts`). The runtime imports this module
 * lazily, only with `QRELAY_STORE=redis`. Topologies and URL forms: docs/deploy-redis.md.
 */
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../../config/parse-redis.ts'

/** A client of any topology: the adapters use only what both classes have. */
export type RedisClient = Redis | Cluster

/** Bounds of {@link openRedis}. */
export interface OpenRedisOptions {
  /** How long one command may take (also while no node is reachable) before it fails. */
  commandTimeoutMs: number
  /** Retries of a command after a dropped connection before it fails (default 2). */
  maxRetriesPerRequest?: number
  enableAutoPipelining?: boolean
  /** PEM file of the CAs the servers' certificates are checked against (TLS only); unset: Node's CA store. */
  tlsCaFile?: string
}

/**
 * The TLS options of every connection of `target` (data nodes and sentinels), or undefined without TLS.
 * Errors: a CA file that cannot be read (named by its knob; the path is configuration, not a secret).
 */
const tlsOf = (target: RedisTarget, caFile: string | undefined): ConnectionOptions | undefined => {
  if (!target.tls) return undefined
  if (caFile === undefined) return {}
  try {
    return { ca: readFileSync(caFile) }
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable'
    throw new Error(`QRELAY_REDIS_TLS_CA_FILE ${caFile} cannot be read (${code})`)
  }
}

/** Redis refusals of the connection itself: their first word becomes the error's `code`. */
const REFUSAL = /^(WRONGPASS|NOAUTH|NOPERM)\b/

/**
 * Labels a connection error so that a log line, which keeps an error's code but never its message, says
 * what went wrong: `WRONGPASS`, `NOAUTH` or `NOPERM` from Redis (Node's TLS errors carry their code
 * already, e.g. `SELF_SIGNED_CERT_IN_CHAIN`). It runs before the caller's listeners (registered first);
 * when it is the only one it prints what ioredis prints for an unhandled error, as before.
 */
const labelError = (client: RedisClient) => (error: unknown) => {
  if (error instanceof Error && (error as { code?: unknown }).code === undefined) {
    const refusal = REFUSAL.exec(error.message)
    if (refusal !== null) Object.assign(error, { code: refusal[1] })
  }
  if (client.listenerCount('error') === 1 && error instanceof Error) console.error('[ioredis] Unhandled error event:', error.stack)
}

/**
 * A client for `target`. Commands fail within `commandTimeoutMs` while Redis is unreachable (the
 * server answers 503); the client reconnects by itself, to the promoted replica after a Sentinel failover.
 *
 * @example
 * const target = redisTarget(config.storage.redisUrl)
 * if (!('problem' in target)) openRedis(target, { commandTimeoutMs: 1000 })
 */
export const openRedis = (target: RedisTarget, options: OpenRedisOptions): RedisClient => {
  const tls = tlsOf(target, options.tlsCaFile)
  const common: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    commandTimeout: options.commandTimeoutMs,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(tls === undefined ? {} : { tls }),
  }
  const client = clientOf(target, options, common)
  client.on('error', labelError(client))
  return client
}

/**
 * Batches the writes of `client` (one Redis or Sentinel): the first command sent in an event-loop turn
 * corks the connection, and the next check phase (`setImmediate`, where ioredis' auto-pipelining flushes
 * too) uncorks it, so every command of the turn leaves in one `writev`. That is auto-pipelining's
 * batching without its per-batch `Pipeline` object, which copies every script the client defines (40
 * with the durable store) and cost more per request the fewer requests a process serves per turn (two
 * processes sharing the load). Replies, their order, timeouts and reconnects are ioredis' own: only when
 * the bytes leave changes.
 */
const coalesceWrites = (client: Redis): Redis => {
  const send = client.sendCommand
  let corked: Redis['stream'] | undefined
  const uncork = (): void => {
    const stream = corked
    corked = undefined
    stream?.uncork()
  }
  client.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
    const stream = client.stream
    if (corked === undefined && client.status === 'ready' && stream?.writable) {
      stream.cork()
      corked = stream
      setImmediate(uncork)
    }
    return send.apply(this, args)
  }
  return client
}

const clientOf = (target: RedisTarget, options: OpenRedisOptions, common: RedisOptions): RedisClient => {
  const pipelining = { enableAutoPipelining: options.enableAutoPipelining ?? false }
  // One connection (one Redis or Sentinel): the same batching of a turn's commands, more cheaply.
  const coalesced = (client: Redis): Redis => (pipelining.enableAutoPipelining ? coalesceWrites(client) : client)
  if (target.kind === 'single') return coalesced(new Redis(target.url, { ...common, enableAutoPipelining: false }))
  if (target.kind === 'cluster') {
    const clusterOptions: ClusterOptions = {
      ...pipelining,
      redisOptions: common,
      // Reads go to the primaries: every intent reads and writes in one script, replicas lag.
      scaleReads: 'master',
      // A node that is being failed over answers CLUSTERDOWN or TRYAGAIN for a moment: retry soon.
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: Math.max(1000, options.commandTimeoutMs),
    }
    return new Cluster(target.nodes, clusterOptions)
  }
  return coalesced(
    new Redis({
      ...common,
      enableAutoPipelining: false,
      sentinels: target.sentinels,
      name: target.masterName,
      db: target.db,
      ...(target.sentinelAuth && target.username !== undefined ? { sentinelUsername: target.username } : {}),
      ...(target.sentinelAuth && target.password !== undefined ? { sentinelPassword: target.password } : {}),
      ...(common.tls === undefined ? {} : { sentinelTLS: common.tls, enableTLSForSentinelMode: true }),
      // After a failover the old master may come back as a replica: a READONLY answer reconnects (and so asks the sentinels again).
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
    }),
  )
}
