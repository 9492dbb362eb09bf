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
  }),
  msc4388Enabled: knob.boolean({
    env: 'QRELAY_MSC4388_ENABLED',
    default: true,
  }),
  nativeEnabled: knob.boolean({
    env: 'QRELAY_NATIVE_ENABLED',
    default: true,
  }),
  msc4108TtlSeconds: knob.int({
    env: 'QRELAY_MSC4108_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
  }),
  msc4388TtlSeconds: knob.int({
    env: 'QRELAY_MSC4388_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
  }),
  nativeTtlSeconds: knob.int({
    env: 'QRELAY_NATIVE_TTL_SECONDS',
    default: 120,
    min: 10,
    max: 3600,
  }),
  maxPayloadBytes: knob.int({
    env: 'QRELAY_MAX_PAYLOAD_BYTES',
    default: 4096,
    min: 64,
    max: 65536,
  }),
  /** Hex keys tagging channel ids, the first mints, all verify; empty: generated (see the knob). */
  channelIdKeysHex: knob.custom({
    env: 'QRELAY_CHANNEL_ID_KEYS',
    secret: true,
    default: '',
    parse: hexKeyList,
  }),
  maxLiveChannels: knob.int({
    env: 'QRELAY_MAX_LIVE_CHANNELS',
    default: 100_000,
    min: 1,
    max: 100_000_000,
  }),
} satisfies Section

/** The WebSocket transport of native channels (`GET /v1/rendezvous/{id}/ws`). */
export const websocket = {
  enabled: knob.boolean({
    env: 'QRELAY_WS_ENABLED',
    default: true,
  }),
  helloTimeoutMs: knob.int({
    env: 'QRELAY_WS_HELLO_TIMEOUT_MS',
    default: 10000,
    min: 100,
    max: 600_000,
  }),
  idleTimeoutMs: knob.int({
    env: 'QRELAY_WS_IDLE_TIMEOUT_MS',
    default: 60000,
    min: 100,
    max: 3_600_000,
  }),
} satisfies Section

/** How networks are compared and written (channel tickets, proximity). */
export const network = {
  ipv4PrefixBits: knob.int({
    env: 'QRELAY_NETWORK_IPV4_PREFIX_BITS',
    default: 24,
    min: 8,
    max: 32,
  }),
  ipv6PrefixBits: knob.int({
    env: 'QRELAY_NETWORK_IPV6_PREFIX_BITS',
    default: 56,
    min: 16,
    max: 128,
  }),
} satisfies Section

/** Signed channel tickets (JWS) and the keys that sign them. */
export const tickets = {
  /** JWK set (JSON) of signing keys, first one current; unset: generated and kept in the data directory. */
  signingJwks: knob.custom({
    env: 'QRELAY_TICKET_SIGNING_JWKS',
    secret: true,
    parse: signingJwks,
  }),
  retiredKeyTtlSeconds: knob.int({
    env: 'QRELAY_TICKET_RETIRED_KEY_TTL_SECONDS',
    default: 86400,
    min: 60,
    max: 2_592_000,
  }),
} satisfies Section

/** Operator webhooks of security events (Standard Webhooks signatures, durable outbox). */
export const webhooks = {
  /** Where events are POSTed; unset: no webhooks. */
  url: knob.custom({
    env: 'QRELAY_WEBHOOK_URL',
    parse: webhookUrl,
  }),
  /** The `whsec_<base64>` signing secret; required with `url`. */
  secret: knob.custom({
    env: 'QRELAY_WEBHOOK_SECRET',
    secret: true,
    parse: webhookSecret,
  }),
  maxAttempts: knob.int({
    env: 'QRELAY_WEBHOOK_MAX_ATTEMPTS',
    default: 12,
    min: 1,
    max: 100,
  }),
  timeoutMs: knob.int({
    env: 'QRELAY_WEBHOOK_TIMEOUT_MS',
    default: 10000,
    min: 100,
    max: 120_000,
  }),
  backoffBaseMs: knob.int({
    env: 'QRELAY_WEBHOOK_BACKOFF_BASE_MS',
    default: 5000,
    min: 1,
    max: 3_600_000,
  }),
  backoffMaxMs: knob.int({
    env: 'QRELAY_WEBHOOK_BACKOFF_MAX_MS',
    default: 3_600_000,
    min: 1,
    max: 86_400_000,
  }),
  pollIntervalMs: knob.int({
    env: 'QRELAY_WEBHOOK_POLL_INTERVAL_MS',
    default: 1000,
    min: 10,
    max: 600_000,
  }),
} satisfies Section

/** The relay's own rate limits: channel creation, reads, writes and refused joins. */
export const rateLimit = {
  createPerClient: knob.rate({
    env: 'QRELAY_RATE_CREATE_PER_CLIENT',
    default: '30/60s',
  }),
  readsPerChannel: knob.rate({
    env: 'QRELAY_RATE_READS_PER_CHANNEL',
    default: '300/60s',
  }),
  writesPerChannel: knob.rate({
    env: 'QRELAY_RATE_WRITES_PER_CHANNEL',
    default: '60/60s',
  }),
  refusedPerClient: knob.rate({
    env: 'QRELAY_RATE_REFUSED_PER_CLIENT',
    default: '20/600s',
  }),
  /** How many /64 clients' budgets an IPv6 /56 (one home on many ISPs) gets in all, on the limits a wider prefix multiplies. */
  ipv6Per56Factor: knob.int({
    env: 'QRELAY_RATE_IPV6_56_FACTOR',
    default: 2,
    min: 1,
    max: 256,
  }),
  /** How many /64 clients' budgets an IPv6 /48 (one organisation or hosting customer) gets in all. */
  ipv6Per48Factor: knob.int({
    env: 'QRELAY_RATE_IPV6_48_FACTOR',
    default: 4,
    min: 1,
    max: 65_536,
  }),
} satisfies Section
