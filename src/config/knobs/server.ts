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
    doc: 'address to listen on',
  }),
  port: knob.int({
    env: 'QRELAY_PORT',
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'TCP port to listen on (0 = any free port)',
  }),
  /** Origin (and optional path prefix) clients reach us at; unset: loopback request hosts only. */
  publicBaseUrl: knob.custom({
    env: 'QRELAY_PUBLIC_BASE_URL',
    parse: publicBaseUrl,
    doc: 'public URL of this server: every URL it hands out and every DPoP htu check uses it; required unless QRELAY_HOST is a loopback address (then, unset, only requests to a loopback Host are answered)',
  }),
  shutdownGraceMs: knob.int({
    env: 'QRELAY_SHUTDOWN_GRACE_MS',
    default: 10000,
    min: 0,
    max: 600_000,
    doc: 'how long a shutdown waits for requests in flight',
  }),
  /** Node: time a client has to send a request's headers, and the whole request. */
  headersTimeoutMs: knob.int({
    env: 'QRELAY_HEADERS_TIMEOUT_MS',
    default: 10000,
    min: 1000,
    max: 600_000,
    doc: 'Node: a client that has not sent its request headers within this time is answered 408 and disconnected',
  }),
  requestTimeoutMs: knob.int({
    env: 'QRELAY_REQUEST_TIMEOUT_MS',
    default: 30000,
    min: 1000,
    max: 3_600_000,
    doc: 'Node: a client that has not sent its whole request (headers and body) within this time is answered 408 and disconnected; at least QRELAY_HEADERS_TIMEOUT_MS',
  }),
  /** Node: how long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: knob.int({
    env: 'QRELAY_KEEP_ALIVE_TIMEOUT_MS',
    default: 5000,
    min: 0,
    max: 600_000,
    doc: 'Node: an idle keep-alive connection is closed after this time',
  }),
  /** Node: open connections one client address may hold (trusted proxies are not counted). */
  maxConnectionsPerAddress: knob.int({
    env: 'QRELAY_MAX_CONNECTIONS_PER_ADDRESS',
    default: 128,
    min: 1,
    max: 1_000_000,
    doc: 'Node: open connections (WebSockets included) one client address may hold; more are closed at once (trusted proxies are exempt when QRELAY_TRUSTED_PROXY_HEADER is set)',
  }),
  trustedProxyHeader: knob.optionalString({
    env: 'QRELAY_TRUSTED_PROXY_HEADER',
    lowercase: true,
    doc: 'header holding the client address, set by a trusted proxy (x-forwarded-for, x-real-ip, forwarded); default: the socket address',
  }),
  trustedProxies: knob.cidrList({
    env: 'QRELAY_TRUSTED_PROXIES',
    default: ['127.0.0.1/8', '::1/128'],
    doc: 'comma-separated addresses/CIDRs of proxies whose header is believed',
  }),
  logLevel: knob.enum({
    env: 'QRELAY_LOG_LEVEL',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    doc: 'log level (logs are JSON lines on stdout)',
  }),
  /** Key for the keyed hashes that stand for bearer values in logs (hex); random per process when unset. */
  logHashKeyHex: knob.custom({
    env: 'QRELAY_LOG_HASH_KEY',
    parse: hexKey,
    doc: 'hex key of the keyed hash that stands for ids and tokens in logs; set it to correlate logs across processes',
  }),
  /** Node: `GET /metrics` (Prometheus text format); Workers never serve it (docs/metrics.md). */
  metricsEnabled: knob.boolean({
    env: 'QRELAY_METRICS_ENABLED',
    default: false,
    doc: 'Node: serve GET /metrics in the Prometheus text format (docs/metrics.md); off: no endpoint and no metrics kept',
  }),
  /** Bearer token `GET /metrics` asks for; unset: the endpoint is open (keep it behind the proxy). */
  metricsToken: knob.custom({
    env: 'QRELAY_METRICS_TOKEN',
    parse: adminToken,
    doc: 'bearer token GET /metrics asks for (at least 32 characters, secret); unset: anyone who reaches the endpoint may scrape it',
  }),
} satisfies Section

/** The ephemeral store (memory or Redis) and the data directory. */
export const storage = {
  kind: knob.enum({
    env: 'QRELAY_STORE',
    values: ['memory', 'redis'],
    default: 'memory',
    doc: 'ephemeral store: memory (one process) or redis (many processes)',
  }),
  redisUrl: knob.custom({
    env: 'QRELAY_REDIS_URL',
    parse: redisUrl,
    doc: 'Redis URL, required when QRELAY_STORE=redis',
  }),
  /** PEM file of the CA (or CAs) that signed the Redis servers' certificates, for a private CA; needs a rediss URL. */
  redisTlsCaFile: knob.optionalString({
    env: 'QRELAY_REDIS_TLS_CA_FILE',
    doc: 'PEM file of the CAs that Redis certificates are checked against with a rediss:// URL (data nodes and sentinels); unset: the CA store of Node',
  }),
  redisKeyPrefix: knob.string({
    env: 'QRELAY_REDIS_KEY_PREFIX',
    default: 'qrelay:',
    doc: 'prefix of every Redis key',
  }),
  /** How long one Redis command may take before the request fails (503). */
  redisCommandTimeoutMs: knob.int({
    env: 'QRELAY_REDIS_COMMAND_TIMEOUT_MS',
    default: 1000,
    min: 50,
    max: 60_000,
    doc: 'how long one Redis command may take (also while Redis is unreachable) before the request answers 503 with Retry-After',
  }),
  dataDir: knob.string({
    env: 'QRELAY_DATA_DIR',
    default: './data',
    doc: 'directory of the embedded SQLite file and generated keys',
  }),
  /** Most rate and abuse counters the memory store holds; the oldest are evicted beyond. */
  memoryMaxCounters: knob.int({
    env: 'QRELAY_MEMORY_MAX_COUNTERS',
    default: 100_000,
    min: 1000,
    max: 10_000_000,
    doc: 'most rate-limit and abuse counters the memory store holds at once; beyond it the expired, then the oldest, are evicted',
  }),
  memorySweepIntervalMs: knob.int({
    env: 'QRELAY_MEMORY_SWEEP_INTERVAL_MS',
    default: 30000,
    min: 100,
    max: 3_600_000,
    doc: 'how often the memory store frees expired entries (expiry itself is exact)',
  }),
} satisfies Section
