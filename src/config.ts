/**
 * All of qrelay's configuration: one table of knobs, each with its environment variable, default,
 * unit (in the name) and a doc line. `parseConfig(env)` reports every bad value at once.
 * Only `src/runtime/*` calls it; services receive the slices they need.
 */
import type { RateRule } from './core/policy/rate-limit.ts'
import { parseCidr, type Cidr } from './core/policy/network.ts'
import { parseSigningJwks } from './core/crypto/signing-key-set.ts'
import { parseSealingKeyring } from './core/crypto/sealed-secret.ts'
import { parseWebhookSecret } from './core/webhooks/signature.ts'

/** The whole configuration, frozen. */
export interface Config {
  server: {
    host: string
    port: number
    /** Origin (and optional path prefix) clients reach us at; unset: loopback request hosts only. */
    publicBaseUrl: string | undefined
    shutdownGraceMs: number
    /** Node: time a client has to send a request's headers, and the whole request. */
    headersTimeoutMs: number
    requestTimeoutMs: number
    /** Node: how long an idle keep-alive connection stays open. */
    keepAliveTimeoutMs: number
    /** Node: open connections one client address may hold (trusted proxies are not counted). */
    maxConnectionsPerAddress: number
    trustedProxyHeader: string | undefined
    trustedProxies: readonly Cidr[]
    logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
    /** Key for the keyed hashes that stand for bearer values in logs (hex); random per process when unset. */
    logHashKeyHex: string | undefined
  }
  storage: {
    kind: 'memory' | 'redis'
    redisUrl: string | undefined
    redisKeyPrefix: string
    /** How long one Redis command may take before the request fails (503). */
    redisCommandTimeoutMs: number
    dataDir: string
    memorySweepIntervalMs: number
    /** Most rate and abuse counters the memory store holds; the oldest are evicted beyond. */
    memoryMaxCounters: number
  }
  rendezvous: {
    msc4108Enabled: boolean
    msc4388Enabled: boolean
    nativeEnabled: boolean
    msc4108TtlSeconds: number
    msc4388TtlSeconds: number
    nativeTtlSeconds: number
    maxPayloadBytes: number
    maxLiveChannels: number
    /** Hex keys tagging channel ids, the first mints, all verify; empty: generated (see the knob). */
    channelIdKeysHex: readonly string[]
  }
  /** The WebSocket transport of native channels (`GET /v1/rendezvous/{id}/ws`). */
  websocket: {
    enabled: boolean
    helloTimeoutMs: number
    idleTimeoutMs: number
  }
  /** How networks are compared and written (channel tickets, proximity). */
  network: {
    ipv4PrefixBits: number
    ipv6PrefixBits: number
  }
  /** Signed channel tickets (JWS) and the keys that sign them. */
  tickets: {
    /** JWK set (JSON) of signing keys, first one current; unset: generated and kept in the data directory. */
    signingJwks: string | undefined
    retiredKeyTtlSeconds: number
  }
  /** Operator webhooks of security events (Standard Webhooks signatures, durable outbox). */
  webhooks: {
    /** Where events are POSTed; unset: no webhooks. */
    url: string | undefined
    /** The `whsec_<base64>` signing secret; required with `url`. */
    secret: string | undefined
    maxAttempts: number
    timeoutMs: number
    backoffBaseMs: number
    backoffMaxMs: number
    pollIntervalMs: number
  }
  rateLimit: {
    createPerClient: RateRule
    readsPerChannel: RateRule
    writesPerChannel: RateRule
    refusedPerClient: RateRule
  }
  /** Accounts, password login, user-interactive auth, second factors and device tokens. */
  auth: {
    argon2MemoryKiB: number
    argon2Iterations: number
    argon2Parallelism: number
    passwordMinLength: number
    accessTokenTtlSeconds: number
    refreshTokenTtlSeconds: number
    refreshGraceMs: number
    uiaSessionTtlSeconds: number
    /** Key (hex) of the HMAC binding UIA sessions to their request; random per process when unset. */
    uiaKeyHex: string | undefined
    /**
     * Keyring sealing second-factor secrets at rest, `kid:hex64,kid2:hex64` (the first seals, the
     * others only open); when unset a key is generated and kept in the data dir (Node) or the key object (Workers).
     */
    secretsKeys: string | undefined
    registrationEnabled: boolean
    /** Bearer token of the admin endpoint; when unset the endpoint does not exist. */
    adminToken: string | undefined
    totpIssuer: string
    failuresPerAccount: RateRule
    failuresPerAccountTrusted: RateRule
    failuresPerAccountNetwork: RateRule
    failuresPerClient: RateRule
    failuresPerTrustedDevice: RateRule
    deviceTrustTtlSeconds: number
    registerPerClient: RateRule
  }
  /** The RFC 8628 device authorization grant that signs a new device in through the channel. */
  oauth: {
    grantTtlSeconds: number
    pollIntervalSeconds: number
    userCodeAttemptsPerAccount: RateRule
    userCodeAttemptsPerClient: RateRule
    deviceAuthorizationPerClient: RateRule
    tokenRequestsPerClient: RateRule
    /** RFC 9449 §8: the token endpoint demands a server-issued DPoP nonce in every proof. */
    dpopNonce: boolean
    /** Resource servers allowed to introspect tokens (RFC 7662): client id → secret. */
    introspectionClients: ReadonlyMap<string, string>
  }
  /** Offline geolocation for the proximity policy on Node (MaxMind DB files). */
  geo: {
    cityMmdbPath: string | undefined
    asnMmdbPath: string | undefined
  }
  /** Abuse counters per network and the automatic, decaying deny (see `core/policy/abuse.ts`). */
  abuse: {
    enabled: boolean
    windowSeconds: number
    minCreatedForRatio: number
    maxRefusedJoins: number
    maxCheckCodeAborts: number
    maxDeclinedApprovals: number
    baseBlockSeconds: number
    maxBlockSeconds: number
    notMeDenySeconds: number
    notMeGlobalAfterAccounts: number
    exemptLoopback: boolean
    exemptTrustedNetworks: boolean
  }
  /** Who may approve a QR login, from where, and what a doubt costs (see `src/core/policy`). */
  policy: {
    trustedNetworks: readonly Cidr[]
    deniedNetworks: readonly Cidr[]
    proximityAllowAtLeast: 'same_ip' | 'same_prefix' | 'nearby' | 'regional' | 'unknown'
    proximityNearKm: number
    proximityFarKm: number
    farAction: 'allow' | 'step_up' | 'deny'
    inconsistentAction: 'allow' | 'step_up' | 'deny'
    farInconsistencyAction: 'allow' | 'step_up' | 'deny'
    approverMinAgeSeconds: number
    approverMaxAuthAgeSeconds: number
    deviceActionMaxAuthAgeSeconds: number
    quarantineSeconds: number
    requireAuthenticatedCreator: boolean
    requireInitiationCode: boolean
    initiationCodeDigits: number
  }
}

/** Thrown by {@link parseConfig} with every problem found, one per line. */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Parsed<T> = { value: T } | { problem: string }
type Parser<T> = (raw: string) => Parsed<T>

/** One knob: where it lives in {@link Config}, its variable, default and doc line. */
export interface Knob {
  env: string
  /** Path in Config, e.g. `rendezvous.maxPayloadBytes`. */
  path: string
  default: string | undefined
  doc: string
  parse: Parser<unknown>
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return { problem: `must be a whole number, got "${raw}"` }
    const n = Number(raw)
    return n < min || n > max ? { problem: `must be between ${min} and ${max}, got ${n}` } : { value: n }
  }
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true }
  if (['0', 'false', 'no', 'off'].includes(v)) return { value: false }
  return { problem: `must be true or false, got "${raw}"` }
}
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) =>
    (values as string[]).includes(raw.trim())
      ? { value: raw.trim() as T }
      : { problem: `must be one of ${values.join(', ')}, got "${raw}"` }
const text: Parser<string> = (raw) => ({ value: raw })
const optionalText: Parser<string | undefined> = (raw) => ({ value: raw.trim() === '' ? undefined : raw.trim() })
const url: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  try {
    const u = new URL(raw.trim())
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { problem: 'must be an http(s) URL' }
    return { value: u.href.replace(/\/+$/, '') }
  } catch {
    return { problem: `must be an absolute URL, got "${raw}"` }
  }
}
const redisUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  try {
    const u = new URL(raw.trim())
    return u.protocol === 'redis:' || u.protocol === 'rediss:'
      ? { value: raw.trim() }
      : { problem: 'must be a redis:// or rediss:// URL' }
  } catch {
    return { problem: `must be a redis:// URL, got "${raw}"` }
  }
}
// Never echoes the value: it is a secret.
const hexKeys: Parser<readonly string[]> = (raw) => {
  const keys = raw.split(',').map((k) => k.trim()).filter(Boolean)
  return keys.every((k) => /^([0-9a-fA-F]{2}){32,64}$/.test(k))
    ? { value: keys.map((k) => k.toLowerCase()) }
    : { problem: 'must be comma-separated keys of 64 to 128 hex characters' }
}
const hexKey: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return /^([0-9a-fA-F]{2}){16,64}$/.test(raw.trim())
    ? { value: raw.trim().toLowerCase() }
    : { problem: 'must be 32 to 128 hex characters' }
}
const cidrs: Parser<readonly Cidr[]> = (raw) => {
  const out: Cidr[] = []
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const cidr = parseCidr(part)
    if (cidr === null) return { problem: `"${part}" is not an IP address or CIDR range` }
    out.push(cidr)
  }
  return { value: out }
}
const jwks: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const parsed = parseSigningJwks(raw)
  return parsed.ok ? { value: raw.trim() } : { problem: `is not a usable JWK set (${parsed.detail ?? 'invalid'})` }
}
// Never echoes the value: it holds keys.
const sealingKeys: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  const parsed = parseSealingKeyring(raw.trim())
  return parsed.ok ? { value: raw.trim() } : { problem: `is not a usable keyring (${parsed.detail ?? 'invalid'})` }
}
const adminToken: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return raw.trim().length >= 32 ? { value: raw.trim() } : { problem: 'must be at least 32 characters' }
}
const clientCredentials: Parser<ReadonlyMap<string, string>> = (raw) => {
  const clients = new Map<string, string>()
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':')
    const id = colon < 0 ? '' : entry.slice(0, colon)
    const secret = colon < 0 ? '' : entry.slice(colon + 1)
    // Never echo a secret in the problem text.
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) return { problem: 'needs entries "<client id>:<secret>" with ids of letters, digits, . _ -' }
    if (secret.length < 32) return { problem: `the secret of client "${id}" must be at least 32 characters` }
    if (clients.has(id)) return { problem: `client "${id}" appears twice` }
    clients.set(id, secret)
  }
  return { value: clients }
}
const issuer: Parser<string> = (raw) =>
  raw.trim() === '' || raw.includes(':') ? { problem: 'must be non-empty and contain no colon' } : { value: raw.trim() }
const webhookUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  try {
    const u = new URL(raw.trim())
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { problem: 'must be an http(s) URL' }
    return u.username === '' && u.password === '' ? { value: u.href } : { problem: 'must not carry credentials' }
  } catch {
    return { problem: 'must be an absolute URL' }
  }
}
// Never echoes the value: it is a secret.
const webhookSecret: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return { value: undefined }
  return parseWebhookSecret(raw.trim()) === null
    ? { problem: 'must be whsec_ followed by the base64 of 24 to 64 bytes' }
    : { value: raw.trim() }
}
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const
/** `30/60s`: at most 30 per sliding 60 seconds. Units: ms, s, m, h. */
const rate: Parser<RateRule> = (raw) => {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(raw)
  if (!m) return { problem: `must look like 30/60s (count/window with unit ms, s, m or h), got "${raw}"` }
  const limit = Number(m[1])
  const windowMs = Number(m[2]) * UNIT_MS[m[3] as keyof typeof UNIT_MS]
  if (limit < 1 || windowMs < 1000) return { problem: 'needs a count ≥ 1 and a window ≥ 1s' }
  return { value: { limit, windowMs } }
}

/** Every knob, in the order the README lists them. */
export const KNOBS: readonly Knob[] = [
  { env: 'QRELAY_HOST', path: 'server.host', default: '127.0.0.1', parse: text, doc: 'address to listen on' },
  { env: 'QRELAY_PORT', path: 'server.port', default: '8080', parse: int(0, 65535), doc: 'TCP port to listen on (0 = any free port)' },
  { env: 'QRELAY_PUBLIC_BASE_URL', path: 'server.publicBaseUrl', default: undefined, parse: url, doc: 'public URL of this server: every URL it hands out and every DPoP htu check uses it; required unless QRELAY_HOST is a loopback address (then, unset, only requests to a loopback Host are answered)' },
  { env: 'QRELAY_SHUTDOWN_GRACE_MS', path: 'server.shutdownGraceMs', default: '10000', parse: int(0, 600_000), doc: 'how long a shutdown waits for requests in flight' },
  { env: 'QRELAY_HEADERS_TIMEOUT_MS', path: 'server.headersTimeoutMs', default: '10000', parse: int(1000, 600_000), doc: 'Node: a client that has not sent its request headers within this time is answered 408 and disconnected' },
  { env: 'QRELAY_REQUEST_TIMEOUT_MS', path: 'server.requestTimeoutMs', default: '30000', parse: int(1000, 3_600_000), doc: 'Node: a client that has not sent its whole request (headers and body) within this time is answered 408 and disconnected; at least QRELAY_HEADERS_TIMEOUT_MS' },
  { env: 'QRELAY_KEEP_ALIVE_TIMEOUT_MS', path: 'server.keepAliveTimeoutMs', default: '5000', parse: int(0, 600_000), doc: 'Node: an idle keep-alive connection is closed after this time' },
  { env: 'QRELAY_MAX_CONNECTIONS_PER_ADDRESS', path: 'server.maxConnectionsPerAddress', default: '128', parse: int(1, 1_000_000), doc: 'Node: open connections (WebSockets included) one client address may hold; more are closed at once (trusted proxies are exempt when QRELAY_TRUSTED_PROXY_HEADER is set)' },
  { env: 'QRELAY_TRUSTED_PROXY_HEADER', path: 'server.trustedProxyHeader', default: undefined, parse: (raw) => optionalText(raw.toLowerCase()), doc: 'header holding the client address, set by a trusted proxy (x-forwarded-for, x-real-ip, forwarded); default: the socket address' },
  { env: 'QRELAY_TRUSTED_PROXIES', path: 'server.trustedProxies', default: '127.0.0.1/8,::1/128', parse: cidrs, doc: 'comma-separated addresses/CIDRs of proxies whose header is believed' },
  { env: 'QRELAY_LOG_LEVEL', path: 'server.logLevel', default: 'info', parse: oneOf('debug', 'info', 'warn', 'error', 'silent'), doc: 'log level (logs are JSON lines on stdout)' },
  { env: 'QRELAY_LOG_HASH_KEY', path: 'server.logHashKeyHex', default: undefined, parse: hexKey, doc: 'hex key of the keyed hash that stands for ids and tokens in logs; set it to correlate logs across processes' },
  { env: 'QRELAY_STORE', path: 'storage.kind', default: 'memory', parse: oneOf('memory', 'redis'), doc: 'ephemeral store: memory (one process) or redis (many processes)' },
  { env: 'QRELAY_REDIS_URL', path: 'storage.redisUrl', default: undefined, parse: redisUrl, doc: 'Redis URL, required when QRELAY_STORE=redis' },
  { env: 'QRELAY_REDIS_KEY_PREFIX', path: 'storage.redisKeyPrefix', default: 'qrelay:', parse: text, doc: 'prefix of every Redis key' },
  { env: 'QRELAY_REDIS_COMMAND_TIMEOUT_MS', path: 'storage.redisCommandTimeoutMs', default: '1000', parse: int(50, 60_000), doc: 'how long one Redis command may take (also while Redis is unreachable) before the request answers 503 with Retry-After' },
  { env: 'QRELAY_DATA_DIR', path: 'storage.dataDir', default: './data', parse: text, doc: 'directory of the embedded SQLite file and generated keys' },
  { env: 'QRELAY_MEMORY_MAX_COUNTERS', path: 'storage.memoryMaxCounters', default: '100000', parse: int(1000, 10_000_000), doc: 'most rate-limit and abuse counters the memory store holds at once; beyond it the expired, then the oldest, are evicted' },
  { env: 'QRELAY_MEMORY_SWEEP_INTERVAL_MS', path: 'storage.memorySweepIntervalMs', default: '30000', parse: int(100, 3_600_000), doc: 'how often the memory store frees expired entries (expiry itself is exact)' },
  { env: 'QRELAY_MSC4108_ENABLED', path: 'rendezvous.msc4108Enabled', default: 'true', parse: bool, doc: 'serve the MSC4108 2024 (ETag) rendezvous API' },
  { env: 'QRELAY_MSC4388_ENABLED', path: 'rendezvous.msc4388Enabled', default: 'true', parse: bool, doc: 'serve the MSC4388 (sequence token) rendezvous API' },
  { env: 'QRELAY_NATIVE_ENABLED', path: 'rendezvous.nativeEnabled', default: 'true', parse: bool, doc: 'serve the native two-party /v1/rendezvous API' },
  { env: 'QRELAY_MSC4108_TTL_SECONDS', path: 'rendezvous.msc4108TtlSeconds', default: '120', parse: int(10, 3600), doc: 'lifetime of an MSC4108 channel (clients arm timers from Expires: keep ≥ 60)' },
  { env: 'QRELAY_MSC4388_TTL_SECONDS', path: 'rendezvous.msc4388TtlSeconds', default: '120', parse: int(10, 3600), doc: 'lifetime of an MSC4388 channel (the MSC says 120–300)' },
  { env: 'QRELAY_NATIVE_TTL_SECONDS', path: 'rendezvous.nativeTtlSeconds', default: '120', parse: int(10, 3600), doc: 'lifetime of a native channel' },
  { env: 'QRELAY_MAX_PAYLOAD_BYTES', path: 'rendezvous.maxPayloadBytes', default: '4096', parse: int(64, 65536), doc: 'largest payload, in UTF-8 bytes' },
  { env: 'QRELAY_CHANNEL_ID_KEYS', path: 'rendezvous.channelIdKeysHex', default: '', parse: hexKeys, doc: 'comma-separated hex keys (32 to 64 bytes) that tag channel ids so made-up ids are refused before any storage, the first mints, all verify (secret; rotate by prepending, drop the old key after the longest channel TTL); empty: generated once and shared through Redis or the Workers key object, or per process on the memory store' },
  { env: 'QRELAY_MAX_LIVE_CHANNELS', path: 'rendezvous.maxLiveChannels', default: '100000', parse: int(1, 100_000_000), doc: 'live channels beyond which creation is refused (never evicts)' },
  { env: 'QRELAY_WS_ENABLED', path: 'websocket.enabled', default: 'true', parse: bool, doc: 'serve GET /v1/rendezvous/{id}/ws, the WebSocket transport of native channels (with QRELAY_NATIVE_ENABLED)' },
  { env: 'QRELAY_WS_HELLO_TIMEOUT_MS', path: 'websocket.helloTimeoutMs', default: '10000', parse: int(100, 600_000), doc: 'how long a new WebSocket may take to send its hello frame before it is closed (4401)' },
  { env: 'QRELAY_WS_IDLE_TIMEOUT_MS', path: 'websocket.idleTimeoutMs', default: '60000', parse: int(100, 3_600_000), doc: 'a WebSocket with no frame either way (pings included) for this long is closed (4408)' },
  { env: 'QRELAY_NETWORK_IPV4_PREFIX_BITS', path: 'network.ipv4PrefixBits', default: '24', parse: int(8, 32), doc: 'IPv4 prefix length that counts as "the same network" (channel tickets, proximity)' },
  { env: 'QRELAY_NETWORK_IPV6_PREFIX_BITS', path: 'network.ipv6PrefixBits', default: '56', parse: int(16, 128), doc: 'IPv6 prefix length that counts as "the same network"' },
  { env: 'QRELAY_TICKET_SIGNING_JWKS', path: 'tickets.signingJwks', default: undefined, parse: jwks, doc: 'JWK set (JSON) of the channel-ticket signing keys, the first signs, the others stay published (secret); unset: an Ed25519 key generated on first start in <data dir>/signing-keys.json — set it when several processes serve' },
  { env: 'QRELAY_TICKET_RETIRED_KEY_TTL_SECONDS', path: 'tickets.retiredKeyTtlSeconds', default: '86400', parse: int(60, 2_592_000), doc: 'how long a rotated-out ticket key stays published at /oauth2/jwks' },
  { env: 'QRELAY_WEBHOOK_URL', path: 'webhooks.url', default: undefined, parse: webhookUrl, doc: 'http(s) URL that receives every security event of every account as a signed POST (Standard Webhooks); unset: no webhooks' },
  { env: 'QRELAY_WEBHOOK_SECRET', path: 'webhooks.secret', default: undefined, parse: webhookSecret, doc: 'signing secret of the webhooks, whsec_ followed by the base64 of 24 to 64 random bytes (secret); required with QRELAY_WEBHOOK_URL' },
  { env: 'QRELAY_WEBHOOK_MAX_ATTEMPTS', path: 'webhooks.maxAttempts', default: '12', parse: int(1, 100), doc: 'delivery attempts of one webhook before it is dead-lettered (kept in the outbox, counted)' },
  { env: 'QRELAY_WEBHOOK_TIMEOUT_MS', path: 'webhooks.timeoutMs', default: '10000', parse: int(100, 120_000), doc: 'how long one delivery attempt may take before it counts as failed' },
  { env: 'QRELAY_WEBHOOK_BACKOFF_BASE_MS', path: 'webhooks.backoffBaseMs', default: '5000', parse: int(1, 3_600_000), doc: 'delay before the first retry; doubled per attempt, minus up to 25 % jitter' },
  { env: 'QRELAY_WEBHOOK_BACKOFF_MAX_MS', path: 'webhooks.backoffMaxMs', default: '3600000', parse: int(1, 86_400_000), doc: 'longest delay between two attempts' },
  { env: 'QRELAY_WEBHOOK_POLL_INTERVAL_MS', path: 'webhooks.pollIntervalMs', default: '1000', parse: int(10, 600_000), doc: 'how often the delivery worker looks for due webhooks (new events are sent at once)' },
  { env: 'QRELAY_RATE_CREATE_PER_CLIENT', path: 'rateLimit.createPerClient', default: '30/60s', parse: rate, doc: 'channel creations per client address (IPv6: per /64)' },
  { env: 'QRELAY_RATE_READS_PER_CHANNEL', path: 'rateLimit.readsPerChannel', default: '300/60s', parse: rate, doc: 'reads of one channel (clients poll about once a second each)' },
  { env: 'QRELAY_RATE_WRITES_PER_CHANNEL', path: 'rateLimit.writesPerChannel', default: '60/60s', parse: rate, doc: 'writes and deletes of one channel' },
  { env: 'QRELAY_RATE_REFUSED_PER_CLIENT', path: 'rateLimit.refusedPerClient', default: '20/600s', parse: rate, doc: 'refused joins of claimed channels per client before it is shut out of the relay' },
  { env: 'QRELAY_ARGON2_MEMORY_KIB', path: 'auth.argon2MemoryKiB', default: '19456', parse: int(64, 1_048_576), doc: 'argon2id memory cost of new password hashes (older hashes are rehashed at the next login)' },
  { env: 'QRELAY_ARGON2_ITERATIONS', path: 'auth.argon2Iterations', default: '2', parse: int(1, 64), doc: 'argon2id passes over memory' },
  { env: 'QRELAY_ARGON2_PARALLELISM', path: 'auth.argon2Parallelism', default: '1', parse: int(1, 16), doc: 'argon2id lanes' },
  { env: 'QRELAY_PASSWORD_MIN_LENGTH', path: 'auth.passwordMinLength', default: '10', parse: int(8, 128), doc: 'fewest characters of a new password (common passwords are refused whatever their length)' },
  { env: 'QRELAY_ACCESS_TOKEN_TTL_SECONDS', path: 'auth.accessTokenTtlSeconds', default: '300', parse: int(30, 86_400), doc: 'lifetime of an access token' },
  { env: 'QRELAY_REFRESH_TOKEN_TTL_SECONDS', path: 'auth.refreshTokenTtlSeconds', default: '2592000', parse: int(300, 31_536_000), doc: 'absolute lifetime of a refresh-token family (a device session)' },
  { env: 'QRELAY_REFRESH_GRACE_MS', path: 'auth.refreshGraceMs', default: '2000', parse: int(0, 60_000), doc: 'a just-rotated refresh token presented again within this time is a concurrent duplicate (refused, nothing revoked) rather than a replay' },
  { env: 'QRELAY_UIA_SESSION_TTL_SECONDS', path: 'auth.uiaSessionTtlSeconds', default: '300', parse: int(30, 3600), doc: 'lifetime of a user-interactive auth session' },
  { env: 'QRELAY_UIA_KEY', path: 'auth.uiaKeyHex', default: undefined, parse: hexKey, doc: 'hex key binding UIA sessions to their request; random per process when unset — set it when several processes serve' },
  { env: 'QRELAY_REGISTRATION_ENABLED', path: 'auth.registrationEnabled', default: 'false', parse: bool, doc: 'let anyone create an account with POST /v1/register' },
  { env: 'QRELAY_ADMIN_TOKEN', path: 'auth.adminToken', default: undefined, parse: adminToken, doc: 'bearer token of POST /v1/admin/users and /v1/admin/abuse (lift a network block) (at least 32 characters, secret); unset: no admin endpoint' },
  { env: 'QRELAY_SECRETS_KEYS', path: 'auth.secretsKeys', default: undefined, parse: sealingKeys, doc: 'keys sealing TOTP secrets at rest (XChaCha20-Poly1305): comma-separated "<key id>:<64 hex digits>", the first seals, the others only open (rotation: put the new key first; values re-seal when used) (secret); unset: a key generated on first start in <data dir>/secrets-keys (Workers: in the key object) — set it when several processes serve' },
  { env: 'QRELAY_TOTP_ISSUER', path: 'auth.totpIssuer', default: 'qrelay', parse: issuer, doc: 'issuer name authenticator apps show for TOTP keys (no colon)' },
  { env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT', path: 'auth.failuresPerAccount', default: '10/900s', parse: rate, doc: 'failed password, TOTP and recovery-code guesses per account from all untrusted clients together (no device-trust token or session, not a network of one of its devices); further ones get 429 unchecked' },
  { env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_TRUSTED', path: 'auth.failuresPerAccountTrusted', default: '30/900s', parse: rate, doc: 'failed guesses per account from trusted clients together (device-trust tokens, signed-in devices, networks of its devices); with the untrusted limit, bounds all checked guesses at an account' },
  { env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_NETWORK', path: 'auth.failuresPerAccountNetwork', default: '10/900s', parse: rate, doc: 'failed guesses per (account, client network) for clients without a device-trust token or session' },
  { env: 'QRELAY_RATE_AUTH_FAILURES_PER_CLIENT', path: 'auth.failuresPerClient', default: '30/900s', parse: rate, doc: 'failed guesses per client network across accounts, for clients without a device-trust token or session' },
  { env: 'QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE', path: 'auth.failuresPerTrustedDevice', default: '10/900s', parse: rate, doc: 'failed guesses per device-trust token or signed-in device (their own budget: not locked out by failures elsewhere)' },
  { env: 'QRELAY_DEVICE_TRUST_TTL_SECONDS', path: 'auth.deviceTrustTtlSeconds', default: '7776000', parse: int(3600, 31_536_000), doc: 'lifetime of the device_trust token a password sign-in returns (renewed at each sign-in that presents it)' },
  { env: 'QRELAY_RATE_REGISTER_PER_CLIENT', path: 'auth.registerPerClient', default: '10/3600s', parse: rate, doc: 'accounts created by open registration per client address' },
  { env: 'QRELAY_GRANT_TTL_SECONDS', path: 'oauth.grantTtlSeconds', default: '300', parse: int(30, 1800), doc: 'lifetime of a device authorization grant (its device code and user code)' },
  { env: 'QRELAY_POLL_INTERVAL_SECONDS', path: 'oauth.pollIntervalSeconds', default: '5', parse: int(1, 60), doc: 'polling interval the new device is told to keep at the token endpoint (RFC 8628; slow_down adds 5 s)' },
  { env: 'QRELAY_RATE_USER_CODE_PER_ACCOUNT', path: 'oauth.userCodeAttemptsPerAccount', default: '10/300s', parse: rate, doc: 'user-code lookups and approvals per approving account, whatever their outcome (the primary bound on code guessing)' },
  { env: 'QRELAY_RATE_USER_CODE_PER_CLIENT', path: 'oauth.userCodeAttemptsPerClient', default: '100/300s', parse: rate, doc: 'failed user-code lookups (unknown or expired codes) per client address before the address is refused for the rest of the window; valid lookups do not count, so colleagues behind one NAT do not refuse each other' },
  { env: 'QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT', path: 'oauth.deviceAuthorizationPerClient', default: '60/60s', parse: rate, doc: 'device authorization requests (new QR logins) per client address (an office behind one NAT shares it)' },
  { env: 'QRELAY_RATE_TOKEN_PER_CLIENT', path: 'oauth.tokenRequestsPerClient', default: '1200/60s', parse: rate, doc: 'token endpoint requests (polls and refreshes) per client address; each grant is held to its polling interval by slow_down already, so this only caps an address: 1200/60s lets 100 devices behind one NAT poll every 5 s' },
  { env: 'QRELAY_DPOP_NONCE', path: 'oauth.dpopNonce', default: 'false', parse: bool, doc: 'RFC 9449 server nonces: DPoP proofs at /oauth2/token (and at /oauth2/device_authorization when one is sent) must carry the DPoP-Nonce the server hands out (400 use_dpop_nonce otherwise; clients retry once); nonces are stateless, keyed from QRELAY_UIA_KEY — set it when several processes serve' },
  { env: 'QRELAY_INTROSPECTION_CLIENTS', path: 'oauth.introspectionClients', default: '', parse: clientCredentials, doc: 'resource servers allowed to call POST /oauth2/introspect (RFC 7662) with HTTP Basic: comma-separated "<client id>:<secret>" (secrets ≥ 32 characters); empty: no introspection endpoint' },
  { env: 'QRELAY_GEO_CITY_MMDB_PATH', path: 'geo.cityMmdbPath', default: undefined, parse: optionalText, doc: 'Node: a MaxMind DB city file (GeoLite2-City, DB-IP city lite…) giving coordinates and country to the proximity policy; unset: no geo distance (Workers use request.cf)' },
  { env: 'QRELAY_GEO_ASN_MMDB_PATH', path: 'geo.asnMmdbPath', default: undefined, parse: optionalText, doc: 'Node: a MaxMind DB ASN file (GeoLite2-ASN…) giving the autonomous system to proximity and the abuse counters' },
  { env: 'QRELAY_ABUSE_ENABLED', path: 'abuse.enabled', default: 'true', parse: bool, doc: 'count abuse signals per network (channels created vs completed, refused joins, check-code aborts, declined approvals) and deny a network that trips them, for 10 min doubling per strike' },
  { env: 'QRELAY_ABUSE_WINDOW_SECONDS', path: 'abuse.windowSeconds', default: '3600', parse: int(60, 86_400), doc: 'length of an abuse counting window' },
  { env: 'QRELAY_ABUSE_MIN_CREATED_FOR_RATIO', path: 'abuse.minCreatedForRatio', default: '150', parse: int(1, 1_000_000), doc: 'channels a network must create in a window before fewer than 10 % completed counts as abuse (an ASN: ten times this); 150/h leaves room for 5 kiosks re-creating their QR every 2 min' },
  { env: 'QRELAY_ABUSE_MAX_REFUSED_JOINS', path: 'abuse.maxRefusedJoins', default: '10', parse: int(1, 1_000_000), doc: 'refused joins of claimed channels per window that trip the deny' },
  { env: 'QRELAY_ABUSE_MAX_CHECK_CODE_ABORTS', path: 'abuse.maxCheckCodeAborts', default: '5', parse: int(1, 1_000_000), doc: 'check-code mismatch strikes per window that trip the deny: one per abort as the reporter, one per distinct reporting network or ASN as the accused' },
  { env: 'QRELAY_ABUSE_MAX_DECLINED_APPROVALS', path: 'abuse.maxDeclinedApprovals', default: '5', parse: int(1, 1_000_000), doc: 'declined or burnt QR logins (as the new device) per window that trip the deny' },
  { env: 'QRELAY_ABUSE_BASE_BLOCK_SECONDS', path: 'abuse.baseBlockSeconds', default: '600', parse: int(1, 604_800), doc: 'deny after a first strike; doubles with each further strike (one strike is forgiven per 6 h)' },
  { env: 'QRELAY_ABUSE_MAX_BLOCK_SECONDS', path: 'abuse.maxBlockSeconds', default: '86400', parse: int(1, 2_592_000), doc: 'longest automatic deny' },
  { env: 'QRELAY_NOT_ME_DENY_SECONDS', path: 'abuse.notMeDenySeconds', default: '86400', parse: int(0, 2_592_000), doc: 'a device reported "not me" gets its last network denied this long for the reporting account (channel creation and approval); never the reporter\'s network nor one where the account\'s trusted devices were seen in the last 30 days' },
  { env: 'QRELAY_NOT_ME_GLOBAL_AFTER_ACCOUNTS', path: 'abuse.notMeGlobalAfterAccounts', default: '3', parse: int(1, 1000), doc: 'distinct accounts whose "not me" reports name the same network before its deny applies to everybody' },
  { env: 'QRELAY_ABUSE_EXEMPT_LOOPBACK', path: 'abuse.exemptLoopback', default: 'true', parse: bool, doc: 'never block loopback addresses (127.0.0.0/8, ::1) automatically or by "not me"' },
  { env: 'QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS', path: 'abuse.exemptTrustedNetworks', default: 'false', parse: bool, doc: 'never block the QRELAY_POLICY_TRUSTED_NETWORKS automatically or by "not me" (e.g. an office NAT)' },
  { env: 'QRELAY_POLICY_TRUSTED_NETWORKS', path: 'policy.trustedNetworks', default: '', parse: cidrs, doc: 'comma-separated CIDRs where both devices may be without proof of proximity (e.g. the office): approvals from and to them skip the proximity step-up' },
  { env: 'QRELAY_POLICY_DENIED_NETWORKS', path: 'policy.deniedNetworks', default: '', parse: cidrs, doc: 'comma-separated CIDRs refused for channel creation and QR approval (wins over trusted)' },
  { env: 'QRELAY_PROXIMITY_ALLOW_AT_LEAST', path: 'policy.proximityAllowAtLeast', default: 'nearby', parse: oneOf('same_ip', 'same_prefix', 'nearby', 'regional', 'unknown'), doc: 'weakest proximity of the two devices approved without a step-up (same_ip > same_prefix > nearby > regional > unknown); a shared ASN alone ranks below regional and needs a step-up unless this is unknown (no proximity check)' },
  { env: 'QRELAY_PROXIMITY_NEAR_KM', path: 'policy.proximityNearKm', default: '50', parse: int(1, 20_000), doc: 'geo distance up to which two devices are nearby (needs geo data: request.cf or an mmdb file)' },
  { env: 'QRELAY_PROXIMITY_FAR_KM', path: 'policy.proximityFarKm', default: '500', parse: int(1, 20_000), doc: 'geo distance beyond which two devices are far apart' },
  { env: 'QRELAY_POLICY_FAR_ACTION', path: 'policy.farAction', default: 'deny', parse: oneOf('allow', 'step_up', 'deny'), doc: 'what an approval costs when the two devices are far apart' },
  { env: 'QRELAY_POLICY_INCONSISTENT_ACTION', path: 'policy.inconsistentAction', default: 'step_up', parse: oneOf('allow', 'step_up', 'deny'), doc: 'what an approval costs when the new device was seen from disagreeing networks' },
  { env: 'QRELAY_POLICY_FAR_INCONSISTENCY_ACTION', path: 'policy.farInconsistencyAction', default: 'deny', parse: oneOf('allow', 'step_up', 'deny'), doc: 'what an approval costs when the new device was seen from networks far apart (a relayed QR code)' },
  { env: 'QRELAY_APPROVER_MIN_AGE_SECONDS', path: 'policy.approverMinAgeSeconds', default: '900', parse: int(0, 31_536_000), doc: 'an approving device must have been signed in at least this long' },
  { env: 'QRELAY_APPROVER_MAX_AUTH_AGE_SECONDS', path: 'policy.approverMaxAuthAgeSeconds', default: '604800', parse: int(60, 31_536_000), doc: 'past this long since the user last proved a credential on the approving device, approval asks for the password again' },
  { env: 'QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS', path: 'policy.deviceActionMaxAuthAgeSeconds', default: '86400', parse: int(60, 31_536_000), doc: 'signing another device out or reporting it "not me" asks for the password again past this long since the user last proved a credential on the acting device (a QR-signed-in device: until it does)' },
  { env: 'QRELAY_QUARANTINE_SECONDS', path: 'policy.quarantineSeconds', default: '86400', parse: int(0, 31_536_000), doc: 'a QR-minted session cannot change the password, manage 2FA, approve logins or sign out / report / rename another device for this long (0: never quarantined)' },
  { env: 'QRELAY_INITIATION_REQUIRE_AUTH', path: 'policy.requireAuthenticatedCreator', default: 'false', parse: bool, doc: 'authenticate-then-initiate: only signed-in devices may create native and MSC4388 channels (so the existing device shows the QR code; MSC4108 2024 has no authentication and stays open)' },
  { env: 'QRELAY_INITIATION_VERIFY_CODE', path: 'policy.requireInitiationCode', default: 'false', parse: bool, doc: 'request-initiation verification: an approval shows the approver a code that must be typed on the new device before it gets its session' },
  { env: 'QRELAY_INITIATION_CODE_DIGITS', path: 'policy.initiationCodeDigits', default: '6', parse: int(4, 10), doc: 'digits of the request-initiation code (5 wrong entries burn it)' },
]

/**
 * Reads every `QRELAY_*` knob from `env`, applying defaults. Throws {@link ConfigError} listing all
 * problems (unknown `QRELAY_*` variables included) at once.
 *
 * @example
 * const config = parseConfig(process.env)
 */
export const parseConfig = (env: Record<string, string | undefined>): Config => {
  const problems: string[] = []
  const out: Record<string, Record<string, unknown>> = {
    server: {},
    storage: {},
    rendezvous: {},
    websocket: {},
    network: {},
    tickets: {},
    webhooks: {},
    rateLimit: {},
    auth: {},
    oauth: {},
  }
  for (const knob of KNOBS) {
    const raw = env[knob.env] ?? knob.default
    const [section, field] = knob.path.split('.') as [string, string]
    if (raw === undefined) {
      ;(out[section] ??= {})[field] = undefined
      continue
    }
    const parsed = knob.parse(raw)
    if ('problem' in parsed) problems.push(`${knob.env} ${parsed.problem}`)
    else (out[section] ??= {})[field] = parsed.value
  }
  const known = new Set(KNOBS.map((k) => k.env))
  for (const name of Object.keys(env)) {
    if (name.startsWith('QRELAY_') && !known.has(name)) problems.push(`${name} is not a qrelay setting`)
  }
  const config = out as unknown as Config
  if (problems.length === 0 && config.storage.kind === 'redis' && config.storage.redisUrl === undefined) {
    problems.push('QRELAY_REDIS_URL is required when QRELAY_STORE=redis')
  }
  // Nonces are keyed from the UIA key: a per-process key would refuse another process's nonces.
  if (problems.length === 0 && config.oauth.dpopNonce && config.storage.kind === 'redis' && config.auth.uiaKeyHex === undefined) {
    problems.push('QRELAY_UIA_KEY is required when QRELAY_DPOP_NONCE=true and QRELAY_STORE=redis (the nonce key is derived from it)')
  }
  if (problems.length === 0 && config.webhooks.url !== undefined && config.webhooks.secret === undefined) {
    problems.push('QRELAY_WEBHOOK_SECRET is required when QRELAY_WEBHOOK_URL is set')
  }
  if (problems.length === 0 && config.webhooks.backoffMaxMs < config.webhooks.backoffBaseMs) {
    problems.push('QRELAY_WEBHOOK_BACKOFF_MAX_MS must not be below QRELAY_WEBHOOK_BACKOFF_BASE_MS')
  }
  if (problems.length === 0 && config.server.requestTimeoutMs < config.server.headersTimeoutMs) {
    problems.push('QRELAY_REQUEST_TIMEOUT_MS must not be below QRELAY_HEADERS_TIMEOUT_MS')
  }
  if (problems.length === 0 && config.server.publicBaseUrl === undefined && !isLoopbackHost(config.server.host)) {
    // Otherwise the request's Host header would decide the URLs handed out and the DPoP htu checked.
    problems.push('QRELAY_PUBLIC_BASE_URL is required when QRELAY_HOST is not a loopback address')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  for (const section of Object.values(out)) Object.freeze(section)
  return Object.freeze(config)
}

/** Loopback host names and addresses (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`), as URL hostnames or listening addresses. */
const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i

/** True when `host` names the local machine only. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOST.test(host)

/** The configuration with every default, for tests and embedders. */
export const defaultConfig = (): Config => parseConfig({})
