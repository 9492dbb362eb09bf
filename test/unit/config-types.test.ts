/**
 * Type-level tests of the configuration (checked by `npm run typecheck`): the inferred `Config` is
 * the interface it replaced, a typo in a field does not compile, nor does a default of the wrong type.
 */
import { describe, expectTypeOf, it } from 'vitest'
import { knob, type Knob } from '../../src/config/knob.ts'
import { clientCredentials } from '../../src/config/parse-secrets.ts'
import { defaultConfig, type Config } from '../../src/config.ts'
import type { Cidr } from '../../src/core/policy/network.ts'
import type { RateRule } from '../../src/core/policy/rate-limit.ts'

/** The hand-written `Config` interface before the type was inferred from the declaration. */
interface LegacyConfig {
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
    metricsEnabled: boolean
    metricsToken: string | undefined
  }
  storage: {
    kind: 'memory' | 'redis'
    redisUrl: string | undefined
    redisTlsCaFile: string | undefined
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
    ipv6Per56Factor: number
    ipv6Per48Factor: number
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
    maxDevicesPerAccount: number
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
    registerChecksPerClient: RateRule
    deviceTrustPerAccount: RateRule
    uiaStartsPerClient: RateRule
    renamesPerDevice: RateRule
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
    notMeGlobalMinAccountAgeSeconds: number
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

describe('Config', () => {
  it('is the interface it replaced, field for field', () => {
    expectTypeOf<Config>().toEqualTypeOf<LegacyConfig>()
  })

  it('refuses a field that does not exist', () => {
    const config = defaultConfig()
    expectTypeOf(config.server.host).toBeString()
    // @ts-expect-error: a typo in a field name does not compile
    expectTypeOf(config.server.hots).toBeString()
    // @ts-expect-error: nor does a section that does not exist
    expectTypeOf(config.sever).toBeObject()
  })
})

/** Compiled by `npm run typecheck`, never run: each knob below has a default of the wrong type. */
const wrongDefaults = (): void => {
  // @ts-expect-error: a number knob with a text default
  knob.int({ env: 'QRELAY_X', default: '120', min: 10, max: 3600 })
  // @ts-expect-error: a flag with a text default
  knob.boolean({ env: 'QRELAY_X', default: 'false' })
  // @ts-expect-error: a choice outside the values
  knob.enum({ env: 'QRELAY_X', values: ['memory', 'redis'], default: 'disk' })
  // @ts-expect-error: a rate that is not count/window
  knob.rate({ env: 'QRELAY_X', default: '30 per minute' })
  // @ts-expect-error: a CIDR list written as one string
  knob.cidrList({ env: 'QRELAY_X', default: '10.0.0.0/8' })
  // @ts-expect-error: a variable outside the QRELAY_ namespace
  knob.string({ env: 'HOST', default: '127.0.0.1' })
}

describe('knob constructors', () => {
  it('refuse a default of the wrong type', () => {
    expectTypeOf(knob.int({ env: 'QRELAY_X', default: 120, min: 10, max: 3600 })).toEqualTypeOf<Knob<number>>()
    expectTypeOf(wrongDefaults).toBeFunction()
  })

  it('infer the value type, choices included', () => {
    const store = knob.enum({ env: 'QRELAY_X', values: ['memory', 'redis'], default: 'memory' })
    expectTypeOf(store.parse).returns.toEqualTypeOf<{ value: 'memory' | 'redis' } | { problem: string }>()
    // Without a default a knob may be unset: its value may be undefined whatever its parser gives.
    const clients = knob.custom({ env: 'QRELAY_X', parse: clientCredentials })
    expectTypeOf(clients).toEqualTypeOf<Knob<ReadonlyMap<string, string> | undefined>>()
    const withDefault = knob.custom({ env: 'QRELAY_X', default: '', parse: clientCredentials })
    expectTypeOf(withDefault).toEqualTypeOf<Knob<ReadonlyMap<string, string>>>()
  })
})
