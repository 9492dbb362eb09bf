/**
 * The knobs of the listening server and of storage, in the README's order.
 */
import { knob, type Section } from '../knob.ts'
import { redisUrl } from '../parse-redis.ts'
import { adminToken, hexKey } from '../parse-secrets.ts'
import { publicBaseUrl } from '../parse-urls.ts'

/** The listening server: address, timeouts, proxies and logs. */
export const server = {
  host: knob.string({
    env: 'QRELAY_HOST',
    default: '127.0.0.1',
  }),
  port: knob.int({
    env: 'QRELAY_PORT',
    default: 8080,
    min: 0,
    max: 65535,
  }),
  /** Origin (and optional path prefix) clients reach us at; unset: loopback request hosts only. */
  publicBaseUrl: knob.custom({
    env: 'QRELAY_PUBLIC_BASE_URL',
    parse: publicBaseUrl,
  }),
  shutdownGraceMs: knob.int({
    env: 'QRELAY_SHUTDOWN_GRACE_MS',
    default: 10000,
    min: 0,
    max: 600_000,
  }),
  /** Node: time a client has to send a request's headers, and the whole request. */
  headersTimeoutMs: knob.int({
    env: 'QRELAY_HEADERS_TIMEOUT_MS',
    default: 10000,
    min: 1000,
    max: 600_000,
  }),
  requestTimeoutMs: knob.int({
    env: 'QRELAY_REQUEST_TIMEOUT_MS',
    default: 30000,
    min: 1000,
    max: 3_600_000,
  }),
  /** Node: how long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: knob.int({
    env: 'QRELAY_KEEP_ALIVE_TIMEOUT_MS',
    default: 5000,
    min: 0,
    max: 600_000,
  }),
  /** Node: open connections one client (IPv4 address, IPv6 /64; its /56 and /48 by the IPv6 factors) may hold (trusted proxies are not counted). */
  maxConnectionsPerAddress: knob.int({
    env: 'QRELAY_MAX_CONNECTIONS_PER_ADDRESS',
    default: 128,
    min: 1,
    max: 1_000_000,
  }),
  trustedProxyHeader: knob.optionalString({
    env: 'QRELAY_TRUSTED_PROXY_HEADER',
    lowercase: true,
  }),
  trustedProxies: knob.cidrList({
    env: 'QRELAY_TRUSTED_PROXIES',
    default: ['127.0.0.1/8', '::1/128'],
  }),
  logLevel: knob.enum({
    env: 'QRELAY_LOG_LEVEL',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
  }),
  /** Key for the keyed hashes that stand for bearer values in logs (hex); random per process when unset. */
  logHashKeyHex: knob.custom({
    env: 'QRELAY_LOG_HASH_KEY',
    secret: true,
    parse: hexKey,
  }),
  /** Node: `GET /metrics` (Prometheus text format); Workers never serve it (docs/metrics.md). */
  metricsEnabled: knob.boolean({
    env: 'QRELAY_METRICS_ENABLED',
    default: false,
  }),
  /** Bearer token `GET /metrics` asks for; unset: the endpoint is open (keep it behind the proxy). */
  metricsToken: knob.custom({
    env: 'QRELAY_METRICS_TOKEN',
    secret: true,
    parse: adminToken,
  }),
} satisfies Section

/** The ephemeral store (memory or Redis) and the data directory. */
export const storage = {
  kind: knob.enum({
    env: 'QRELAY_STORE',
    values: ['memory', 'redis'],
    default: 'memory',
  }),
  redisUrl: knob.custom({
    env: 'QRELAY_REDIS_URL',
    parse: redisUrl,
  }),
  /** PEM file of the CA (or CAs) that signed the Redis servers' certificates, for a private CA; needs a rediss URL. */
  redisTlsCaFile: knob.optionalString({
    env: 'QRELAY_REDIS_TLS_CA_FILE',
  }),
  redisKeyPrefix: knob.string({
    env: 'QRELAY_REDIS_KEY_PREFIX',
    default: 'qrelay:',
  }),
  /** How long one Redis command may take before the request fails (503). */
  redisCommandTimeoutMs: knob.int({
    env: 'QRELAY_REDIS_COMMAND_TIMEOUT_MS',
    default: 1000,
    min: 50,
    max: 60_000,
  }),
  dataDir: knob.string({
    env: 'QRELAY_DATA_DIR',
    default: './data',
  }),
  /** Most counters the memory store holds; beyond, the oldest of the most numerous kind is evicted (finding 53). */
  memoryMaxCounters: knob.int({
    env: 'QRELAY_MEMORY_MAX_COUNTERS',
    default: 1_000_000,
    min: 1000,
    max: 10_000_000,
  }),
  memorySweepIntervalMs: knob.int({
    env: 'QRELAY_MEMORY_SWEEP_INTERVAL_MS',
    default: 30000,
    min: 100,
    max: 3_600_000,
  }),
} satisfies Section
