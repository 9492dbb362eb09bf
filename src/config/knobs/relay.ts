/**
 * The knobs of the rendezvous channels, their transports and tickets, the webhooks and the relay's
 * rate limits, in the README's order.
 */
import { knob, type Section } from '../knob.ts'
import { hexKeyList, signingJwks, webhookSecret } from '../parse-secrets.ts'
import { webhookUrl } from '../parse-urls.ts'

/** The rendezvous channels: which APIs are served, their lifetimes and sizes, the channel-id keys. */
export const rendezvous = {
  msc4108Enabled: knob.boolean({
    env: 'QRELAY_MSC4108_ENABLED',
    default: true,
    doc: 'serve the MSC4108 2024 (ETag) rendezvous API',
  }),
  msc4388Enabled: knob.boolean({
    env: 'QRELAY_MSC4388_ENABLED',
    default: true,
    doc: 'serve the MSC4388 (sequence token) rendezvous API',
  }),
  nativeEnabled: knob.boolean({
    env: 'QRELAY_NATIVE_ENABLED',
    default: true,
    doc: 'serve the native two-party /v1/rendezvous API',
  }),
  msc4108TtlSeconds: knob.int({
    env: 'QRELAY_MSC4108_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
    doc: 'lifetime of an MSC4108 channel (clients arm timers from Expires: keep ≥ 60)',
  }),
  msc4388TtlSeconds: knob.int({
    env: 'QRELAY_MSC4388_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
    doc: 'lifetime of an MSC4388 channel (the MSC says 120–300)',
  }),
  nativeTtlSeconds: knob.int({
    env: 'QRELAY_NATIVE_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
    doc: 'lifetime of a native channel',
  }),
  maxPayloadBytes: knob.int({
    env: 'QRELAY_MAX_PAYLOAD_BYTES',
    default: 4096,
    min: 64,
    max: 65536,
    doc: 'largest payload, in UTF-8 bytes',
  }),
  /** Hex keys tagging channel ids, the first mints, all verify; empty: generated (see the knob). */
  channelIdKeysHex: knob.custom({
    env: 'QRELAY_CHANNEL_ID_KEYS',
    default: '',
    parse: hexKeyList,
    doc: 'comma-separated hex keys (32 to 64 bytes) that tag channel ids so made-up ids are refused before any storage, the first mints, all verify (secret; rotate by prepending, drop the old key after the longest channel TTL); empty: generated once and shared through Redis or the Workers key object, or per process on the memory store',
  }),
  maxLiveChannels: knob.int({
    env: 'QRELAY_MAX_LIVE_CHANNELS',
    default: 100_000,
    min: 1,
    max: 100_000_000,
    doc: 'live channels beyond which creation is refused (never evicts)',
  }),
} satisfies Section

/** The WebSocket transport of native channels (`GET /v1/rendezvous/{id}/ws`). */
export const websocket = {
  enabled: knob.boolean({
    env: 'QRELAY_WS_ENABLED',
    default: true,
    doc: 'serve GET /v1/rendezvous/{id}/ws, the WebSocket transport of native channels (with QRELAY_NATIVE_ENABLED)',
  }),
  helloTimeoutMs: knob.int({
    env: 'QRELAY_WS_HELLO_TIMEOUT_MS',
    default: 10000,
    min: 100,
    max: 600_000,
    doc: 'how long a new WebSocket may take to send its hello frame before it is closed (4401)',
  }),
  idleTimeoutMs: knob.int({
    env: 'QRELAY_WS_IDLE_TIMEOUT_MS',
    default: 60000,
    min: 100,
    max: 3_600_000,
    doc: 'a WebSocket with no frame either way (pings included) for this long is closed (4408)',
  }),
} satisfies Section

/** How networks are compared and written (channel tickets, proximity). */
export const network = {
  ipv4PrefixBits: knob.int({
    env: 'QRELAY_NETWORK_IPV4_PREFIX_BITS',
    default: 24,
    min: 8,
    max: 32,
    doc: 'IPv4 prefix length that counts as "the same network" (channel tickets, proximity)',
  }),
  ipv6PrefixBits: knob.int({
    env: 'QRELAY_NETWORK_IPV6_PREFIX_BITS',
    default: 56,
    min: 16,
    max: 128,
    doc: 'IPv6 prefix length that counts as "the same network"',
  }),
} satisfies Section

/** Signed channel tickets (JWS) and the keys that sign them. */
export const tickets = {
  /** JWK set (JSON) of signing keys, first one current; unset: generated and kept in the data directory. */
  signingJwks: knob.custom({
    env: 'QRELAY_TICKET_SIGNING_JWKS',
    parse: signingJwks,
    doc: 'JWK set (JSON) of the channel-ticket signing keys, the first signs, the others stay published (secret); unset: an Ed25519 key generated on first start in <data dir>/signing-keys.json — set it when several processes serve',
  }),
  retiredKeyTtlSeconds: knob.int({
    env: 'QRELAY_TICKET_RETIRED_KEY_TTL_SECONDS',
    default: 86400,
    min: 60,
    max: 2_592_000,
    doc: 'how long a rotated-out ticket key stays published at /oauth2/jwks',
  }),
} satisfies Section

/** Operator webhooks of security events (Standard Webhooks signatures, durable outbox). */
export const webhooks = {
  /** Where events are POSTed; unset: no webhooks. */
  url: knob.custom({
    env: 'QRELAY_WEBHOOK_URL',
    parse: webhookUrl,
    doc: 'http(s) URL that receives every security event of every account as a signed POST (Standard Webhooks); unset: no webhooks',
  }),
  /** The `whsec_<base64>` signing secret; required with `url`. */
  secret: knob.custom({
    env: 'QRELAY_WEBHOOK_SECRET',
    parse: webhookSecret,
    doc: 'signing secret of the webhooks, whsec_ followed by the base64 of 24 to 64 random bytes (secret); required with QRELAY_WEBHOOK_URL',
  }),
  maxAttempts: knob.int({
    env: 'QRELAY_WEBHOOK_MAX_ATTEMPTS',
    default: 12,
    min: 1,
    max: 100,
    doc: 'delivery attempts of one webhook before it is dead-lettered (kept in the outbox, counted)',
  }),
  timeoutMs: knob.int({
    env: 'QRELAY_WEBHOOK_TIMEOUT_MS',
    default: 10000,
    min: 100,
    max: 120_000,
    doc: 'how long one delivery attempt may take before it counts as failed',
  }),
  backoffBaseMs: knob.int({
    env: 'QRELAY_WEBHOOK_BACKOFF_BASE_MS',
    default: 5000,
    min: 1,
    max: 3_600_000,
    doc: 'delay before the first retry; doubled per attempt, minus up to 25 % jitter',
  }),
  backoffMaxMs: knob.int({
    env: 'QRELAY_WEBHOOK_BACKOFF_MAX_MS',
    default: 3_600_000,
    min: 1,
    max: 86_400_000,
    doc: 'longest delay between two attempts',
  }),
  pollIntervalMs: knob.int({
    env: 'QRELAY_WEBHOOK_POLL_INTERVAL_MS',
    default: 1000,
    min: 10,
    max: 600_000,
    doc: 'how often the delivery worker looks for due webhooks (new events are sent at once)',
  }),
} satisfies Section

/** The relay's own rate limits: channel creation, reads, writes and refused joins. */
export const rateLimit = {
  createPerClient: knob.rate({
    env: 'QRELAY_RATE_CREATE_PER_CLIENT',
    default: '30/60s',
    doc: 'channel creations per client address (IPv6: per /64)',
  }),
  readsPerChannel: knob.rate({
    env: 'QRELAY_RATE_READS_PER_CHANNEL',
    default: '300/60s',
    doc: 'reads of one channel (clients poll about once a second each)',
  }),
  writesPerChannel: knob.rate({
    env: 'QRELAY_RATE_WRITES_PER_CHANNEL',
    default: '60/60s',
    doc: 'writes and deletes of one channel',
  }),
  refusedPerClient: knob.rate({
    env: 'QRELAY_RATE_REFUSED_PER_CLIENT',
    default: '20/600s',
    doc: 'refused joins of claimed channels per client before it is shut out of the relay',
  }),
} satisfies Section
