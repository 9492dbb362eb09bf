/**
 * The ioredis client of a {@link RedisTarget}: one `Redis` for a single server, a `Cluster` over the
 * seed nodes, or a `Redis` that asks the sentinels for the current master (and asks again after a
 * failover). Every adapter takes a {@link RedisClient}, so the same scripts run on all three; the pub/sub
 * adapter switches to sharded pub/sub on a cluster (`../pubsub/redis.ts`). The runtime imports this module
 * lazily, only with `QRELAY_STORE=redis`. Topologies and URL forms: docs/deploy-redis.md.
 */
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
  const common: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    commandTimeout: options.commandTimeoutMs,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  }
  const pipelining = { enableAutoPipelining: options.enableAutoPipelining ?? false }
  if (target.kind === 'single') return new Redis(target.url, { ...common, ...pipelining })
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
  return new Redis({
    ...common,
    ...pipelining,
    sentinels: target.sentinels,
    name: target.masterName,
    db: target.db,
    ...(target.sentinelAuth && target.username !== undefined ? { sentinelUsername: target.username } : {}),
    ...(target.sentinelAuth && target.password !== undefined ? { sentinelPassword: target.password } : {}),
    ...(target.tls ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    // After a failover the old master may come back as a replica: a READONLY answer reconnects (and so asks the sentinels again).
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  })
}
