/**
 * The configuration a few representative environments give, written out as it was before the knob
 * table became a typed declaration: the declaration must give the same values, in the same key order,
 * and the same problems, word for word.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'
import { parseCidr, type Cidr } from '../../src/core/policy/network.ts'

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text)
  if (parsed === null) throw new Error(`bad CIDR in the test: ${text}`)
  return parsed
}

const HEX32 = 'AB'.repeat(32)

const ENVS: Record<string, Record<string, string>> = {
  defaults: {},
  full: {
    QRELAY_HOST: '0.0.0.0',
    QRELAY_PORT: '9000',
    QRELAY_PUBLIC_BASE_URL: ' https://relay.example/base// ',
    QRELAY_TRUSTED_PROXY_HEADER: ' X-Forwarded-For ',
    QRELAY_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1,,2001:db8::/32',
    QRELAY_LOG_LEVEL: 'debug',
    QRELAY_LOG_HASH_KEY: ' ' + 'CD'.repeat(16) + ' ',
    QRELAY_STORE: ' redis ',
    QRELAY_REDIS_URL: ' rediss://user@cache.example:6380/2 ',
    QRELAY_REDIS_KEY_PREFIX: ' q: ',
    QRELAY_DATA_DIR: '/var/lib/qrelay',
    QRELAY_MSC4108_ENABLED: 'off',
    QRELAY_NATIVE_ENABLED: 'YES',
    QRELAY_MAX_PAYLOAD_BYTES: ' 8192 ',
    QRELAY_CHANNEL_ID_KEYS: `${HEX32}, ${'ef'.repeat(64)},`,
    QRELAY_WS_ENABLED: '0',
    QRELAY_WEBHOOK_URL: 'https://ops.example/hooks/qrelay',
    QRELAY_WEBHOOK_SECRET: ' whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ',
    QRELAY_RATE_READS_PER_CHANNEL: ' 5 / 2m ',
    QRELAY_RATE_CREATE_PER_CLIENT: '7/1h',
    QRELAY_RATE_REFUSED_PER_CLIENT: '3/1500ms',
    QRELAY_RATE_IPV6_56_FACTOR: ' 16 ',
    QRELAY_RATE_IPV6_48_FACTOR: '256',
    QRELAY_UIA_KEY: 'ab'.repeat(32),
    QRELAY_DPOP_NONCE: 'true',
    QRELAY_ADMIN_TOKEN: ' ' + 't'.repeat(40) + ' ',
    QRELAY_SECRETS_KEYS: `k2:${'ab'.repeat(32)},k1:${'cd'.repeat(32)}`,
    QRELAY_TOTP_ISSUER: ' Acme Corp ',
    QRELAY_INTROSPECTION_CLIENTS: `api:${'s'.repeat(32)}, billing.v2:${'x'.repeat(40)}`,
    QRELAY_GEO_CITY_MMDB_PATH: ' /geo/city.mmdb ',
    QRELAY_GEO_ASN_MMDB_PATH: '   ',
    QRELAY_POLICY_TRUSTED_NETWORKS: '2001:db8::/32',
    QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.7',
    QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'same_ip',
    QRELAY_POLICY_FAR_ACTION: 'step_up',
    QRELAY_INITIATION_CODE_DIGITS: '8',
    QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS: 'on',
  },
}
const BAD_ENVS: Record<string, Record<string, string>> = {
  many: {
    QRELAY_PORT: 'abc',
    QRELAY_STORE: 'disk',
    QRELAY_MAX_PAYLOAD_BYTES: '1',
    QRELAY_TYPO: 'x',
    QRELAY_TRUSTED_PROXIES: 'zz',
    QRELAY_LOG_HASH_KEY: 'xyz',
    QRELAY_REDIS_URL: 'http://x',
    QRELAY_PUBLIC_BASE_URL: 'ftp://x',
    QRELAY_MSC4108_ENABLED: 'maybe',
    QRELAY_RATE_READS_PER_CHANNEL: '0/60s',
    QRELAY_RATE_WRITES_PER_CHANNEL: 'lots',
    QRELAY_CHANNEL_ID_KEYS: 'abc',
    QRELAY_TICKET_SIGNING_JWKS: '{}',
    QRELAY_ADMIN_TOKEN: 'short',
    QRELAY_TOTP_ISSUER: 'a:b',
    QRELAY_INTROSPECTION_CLIENTS: 'a:short',
    QRELAY_WEBHOOK_URL: 'not a url',
    QRELAY_WEBHOOK_SECRET: 'nope',
    QRELAY_SECRETS_KEYS: 'k1:zz',
    QRELAY_POLICY_FAR_ACTION: 'maybe',
    QRELAY_PORT_TYPO: '1',
    QRELAY_INITIATION_CODE_DIGITS: '3.5',
  },
  duplicateClient: { QRELAY_INTROSPECTION_CLIENTS: `a:${'s'.repeat(32)},a:${'t'.repeat(32)}` },
  badClientId: { QRELAY_INTROSPECTION_CLIENTS: `bad id:${'s'.repeat(32)}` },
  redisWithoutUrl: { QRELAY_STORE: 'redis' },
  nonceWithoutKey: { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: 'redis://127.0.0.1:6379', QRELAY_DPOP_NONCE: 'true' },
  webhookWithoutSecret: { QRELAY_WEBHOOK_URL: 'https://ops.example/hook' },
  webhookCredentials: {
    QRELAY_WEBHOOK_URL: 'https://u:p@ops.example/hook',
    QRELAY_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
  backoff: { QRELAY_WEBHOOK_BACKOFF_BASE_MS: '10000', QRELAY_WEBHOOK_BACKOFF_MAX_MS: '5000' },
  requestTimeout: { QRELAY_HEADERS_TIMEOUT_MS: '5000', QRELAY_REQUEST_TIMEOUT_MS: '2000' },
  publicHost: { QRELAY_HOST: '0.0.0.0' },
  twoCrossField: { QRELAY_STORE: 'redis', QRELAY_HOST: '0.0.0.0' },
}

/** What the parser before the typed declaration returned for each of {@link ENVS}. */
const EXPECTED: Record<string, unknown> = {
  defaults: {
    server: {
      host: '127.0.0.1',
      port: 8080,
      publicBaseUrl: undefined,
      shutdownGraceMs: 10000,
      headersTimeoutMs: 10000,
      requestTimeoutMs: 30000,
      keepAliveTimeoutMs: 5000,
      maxConnectionsPerAddress: 128,
      trustedProxyHeader: undefined,
      trustedProxies: [cidr('127.0.0.1/8'), cidr('::1/128')],
      logLevel: 'info',
      logHashKeyHex: undefined,
      metricsEnabled: false,
      metricsToken: undefined,
    },
    storage: {
      kind: 'memory',
      redisUrl: undefined,
      redisTlsCaFile: undefined,
      redisKeyPrefix: 'qrelay:',
      redisCommandTimeoutMs: 1000,
      dataDir: './data',
      memoryMaxCounters: 1000000,
      memorySweepIntervalMs: 30000,
    },
    rendezvous: {
      msc4108Enabled: true,
      msc4388Enabled: true,
      nativeEnabled: true,
      msc4108TtlSeconds: 120,
      msc4388TtlSeconds: 120,
      nativeTtlSeconds: 120,
      maxPayloadBytes: 4096,
      channelIdKeysHex: [],
      maxLiveChannels: 100000,
    },
    websocket: {
      enabled: true,
      helloTimeoutMs: 10000,
      idleTimeoutMs: 60000,
    },
    network: {
      ipv4PrefixBits: 24,
      ipv6PrefixBits: 56,
    },
    tickets: {
      signingJwks: undefined,
      retiredKeyTtlSeconds: 86400,
    },
    webhooks: {
      url: undefined,
      secret: undefined,
      maxAttempts: 12,
      timeoutMs: 10000,
      backoffBaseMs: 5000,
      backoffMaxMs: 3600000,
      pollIntervalMs: 1000,
    },
    rateLimit: {
      createPerClient: {
        limit: 30,
        windowMs: 60000,
      },
      readsPerChannel: {
        limit: 300,
        windowMs: 60000,
      },
      writesPerChannel: {
        limit: 60,
        windowMs: 60000,
      },
      refusedPerClient: {
        limit: 20,
        windowMs: 600000,
      },
      ipv6Per56Factor: 2,
      ipv6Per48Factor: 4,
    },
    auth: {
      argon2MemoryKiB: 19456,
      argon2Iterations: 2,
      argon2Parallelism: 1,
      passwordMinLength: 10,
      accessTokenTtlSeconds: 300,
      refreshTokenTtlSeconds: 2592000,
      refreshGraceMs: 2000,
      maxDevicesPerAccount: 100,
      uiaSessionTtlSeconds: 300,
      uiaKeyHex: undefined,
      registrationEnabled: false,
      adminToken: undefined,
      secretsKeys: undefined,
      totpIssuer: 'qrelay',
      failuresPerAccount: {
        limit: 10,
        windowMs: 900000,
      },
      failuresPerAccountTrusted: {
        limit: 30,
        windowMs: 900000,
      },
      failuresPerAccountNetwork: {
        limit: 10,
        windowMs: 900000,
      },
      failuresPerClient: {
        limit: 30,
        windowMs: 900000,
      },
      failuresPerTrustedDevice: {
        limit: 10,
        windowMs: 900000,
      },
      deviceTrustTtlSeconds: 7776000,
      deviceTrustPerAccount: {
        limit: 20,
        windowMs: 86400000,
      },
      registerPerClient: {
        limit: 10,
        windowMs: 3600000,
      },
      registerChecksPerClient: {
        limit: 30,
        windowMs: 3600000,
      },
      uiaStartsPerClient: {
        limit: 600,
        windowMs: 60000,
      },
      renamesPerDevice: {
        limit: 10,
        windowMs: 86400000,
      },
    },
    oauth: {
      grantTtlSeconds: 300,
      pollIntervalSeconds: 5,
      userCodeAttemptsPerAccount: {
        limit: 10,
        windowMs: 300000,
      },
      userCodeAttemptsPerClient: {
        limit: 100,
        windowMs: 300000,
      },
      deviceAuthorizationPerClient: {
        limit: 60,
        windowMs: 60000,
      },
      tokenRequestsPerClient: {
        limit: 1200,
        windowMs: 60000,
      },
      dpopNonce: false,
      introspectionClients: new Map([]),
    },
    geo: {
      cityMmdbPath: undefined,
      asnMmdbPath: undefined,
    },
    abuse: {
      enabled: true,
      windowSeconds: 3600,
      minCreatedForRatio: 150,
      maxRefusedJoins: 10,
      maxCheckCodeAborts: 5,
      maxDeclinedApprovals: 5,
      baseBlockSeconds: 600,
      maxBlockSeconds: 86400,
      notMeDenySeconds: 86400,
      notMeGlobalAfterAccounts: 3,
      notMeGlobalMinAccountAgeSeconds: 604800,
      exemptLoopback: true,
      exemptTrustedNetworks: false,
    },
    policy: {
      trustedNetworks: [],
      deniedNetworks: [],
      proximityAllowAtLeast: 'nearby',
      proximityNearKm: 50,
      proximityFarKm: 500,
      farAction: 'deny',
      inconsistentAction: 'step_up',
      farInconsistencyAction: 'deny',
      approverMinAgeSeconds: 900,
      approverMaxAuthAgeSeconds: 604800,
      deviceActionMaxAuthAgeSeconds: 86400,
      quarantineSeconds: 86400,
      requireAuthenticatedCreator: false,
      requireInitiationCode: false,
      initiationCodeDigits: 6,
    },
  },
  full: {
    server: {
      host: '0.0.0.0',
      port: 9000,
      publicBaseUrl: 'https://relay.example/base',
      shutdownGraceMs: 10000,
      headersTimeoutMs: 10000,
      requestTimeoutMs: 30000,
      keepAliveTimeoutMs: 5000,
      maxConnectionsPerAddress: 128,
      trustedProxyHeader: 'x-forwarded-for',
      trustedProxies: [cidr('10.0.0.0/8'), cidr('192.168.1.1/32'), cidr('2001:db8::/32')],
      logLevel: 'debug',
      logHashKeyHex: 'cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',
      metricsEnabled: false,
      metricsToken: undefined,
    },
    storage: {
      kind: 'redis',
      redisUrl: 'rediss://user@cache.example:6380/2',
      redisTlsCaFile: undefined,
      redisKeyPrefix: ' q: ',
      redisCommandTimeoutMs: 1000,
      dataDir: '/var/lib/qrelay',
      memoryMaxCounters: 1000000,
      memorySweepIntervalMs: 30000,
    },
    rendezvous: {
      msc4108Enabled: false,
      msc4388Enabled: true,
      nativeEnabled: true,
      msc4108TtlSeconds: 120,
      msc4388TtlSeconds: 120,
      nativeTtlSeconds: 120,
      maxPayloadBytes: 8192,
      channelIdKeysHex: [
        'abababababababababababababababababababababababababababababababab',
        'efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef',
      ],
      maxLiveChannels: 100000,
    },
    websocket: {
      enabled: false,
      helloTimeoutMs: 10000,
      idleTimeoutMs: 60000,
    },
    network: {
      ipv4PrefixBits: 24,
      ipv6PrefixBits: 56,
    },
    tickets: {
      signingJwks: undefined,
      retiredKeyTtlSeconds: 86400,
    },
    webhooks: {
      url: 'https://ops.example/hooks/qrelay',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      maxAttempts: 12,
      timeoutMs: 10000,
      backoffBaseMs: 5000,
      backoffMaxMs: 3600000,
      pollIntervalMs: 1000,
    },
    rateLimit: {
      createPerClient: {
        limit: 7,
        windowMs: 3600000,
      },
      readsPerChannel: {
        limit: 5,
        windowMs: 120000,
      },
      writesPerChannel: {
        limit: 60,
        windowMs: 60000,
      },
      refusedPerClient: {
        limit: 3,
        windowMs: 1500,
      },
      ipv6Per56Factor: 16,
      ipv6Per48Factor: 256,
    },
    auth: {
      argon2MemoryKiB: 19456,
      argon2Iterations: 2,
      argon2Parallelism: 1,
      passwordMinLength: 10,
      accessTokenTtlSeconds: 300,
      refreshTokenTtlSeconds: 2592000,
      refreshGraceMs: 2000,
      maxDevicesPerAccount: 100,
      uiaSessionTtlSeconds: 300,
      uiaKeyHex: 'abababababababababababababababababababababababababababababababab',
      registrationEnabled: false,
      adminToken: 'tttttttttttttttttttttttttttttttttttttttt',
      secretsKeys:
        'k2:abababababababababababababababababababababababababababababababab,k1:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',
      totpIssuer: 'Acme Corp',
      failuresPerAccount: {
        limit: 10,
        windowMs: 900000,
      },
      failuresPerAccountTrusted: {
        limit: 30,
        windowMs: 900000,
      },
      failuresPerAccountNetwork: {
        limit: 10,
        windowMs: 900000,
      },
      failuresPerClient: {
        limit: 30,
        windowMs: 900000,
      },
      failuresPerTrustedDevice: {
        limit: 10,
        windowMs: 900000,
      },
      deviceTrustTtlSeconds: 7776000,
      deviceTrustPerAccount: {
        limit: 20,
        windowMs: 86400000,
      },
      registerPerClient: {
        limit: 10,
        windowMs: 3600000,
      },
      registerChecksPerClient: {
        limit: 30,
        windowMs: 3600000,
      },
      uiaStartsPerClient: {
        limit: 600,
        windowMs: 60000,
      },
      renamesPerDevice: {
        limit: 10,
        windowMs: 86400000,
      },
    },
    oauth: {
      grantTtlSeconds: 300,
      pollIntervalSeconds: 5,
      userCodeAttemptsPerAccount: {
        limit: 10,
        windowMs: 300000,
      },
      userCodeAttemptsPerClient: {
        limit: 100,
        windowMs: 300000,
      },
      deviceAuthorizationPerClient: {
        limit: 60,
        windowMs: 60000,
      },
      tokenRequestsPerClient: {
        limit: 1200,
        windowMs: 60000,
      },
      dpopNonce: true,
      introspectionClients: new Map([
        ['api', 'ssssssssssssssssssssssssssssssss'],
        ['billing.v2', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
      ]),
    },
    geo: {
      cityMmdbPath: '/geo/city.mmdb',
      asnMmdbPath: undefined,
    },
    abuse: {
      enabled: true,
      windowSeconds: 3600,
      minCreatedForRatio: 150,
      maxRefusedJoins: 10,
      maxCheckCodeAborts: 5,
      maxDeclinedApprovals: 5,
      baseBlockSeconds: 600,
      maxBlockSeconds: 86400,
      notMeDenySeconds: 86400,
      notMeGlobalAfterAccounts: 3,
      notMeGlobalMinAccountAgeSeconds: 604800,
      exemptLoopback: true,
      exemptTrustedNetworks: true,
    },
    policy: {
      trustedNetworks: [cidr('2001:db8::/32')],
      deniedNetworks: [cidr('203.0.113.7/32')],
      proximityAllowAtLeast: 'same_ip',
      proximityNearKm: 50,
      proximityFarKm: 500,
      farAction: 'step_up',
      inconsistentAction: 'step_up',
      farInconsistencyAction: 'deny',
      approverMinAgeSeconds: 900,
      approverMaxAuthAgeSeconds: 604800,
      deviceActionMaxAuthAgeSeconds: 86400,
      quarantineSeconds: 86400,
      requireAuthenticatedCreator: false,
      requireInitiationCode: false,
      initiationCodeDigits: 8,
    },
  },
}

/** The problems the parser before the typed declaration reported for each of {@link BAD_ENVS}. */
const EXPECTED_PROBLEMS: Record<string, readonly string[]> = {
  many: [
    'QRELAY_PORT must be a whole number, got "abc"',
    'QRELAY_PUBLIC_BASE_URL must be an http(s) URL',
    'QRELAY_TRUSTED_PROXIES "zz" is not an IP address or CIDR range',
    'QRELAY_LOG_HASH_KEY must be 32 to 128 hex characters',
    'QRELAY_STORE must be one of memory, redis, got "disk"',
    'QRELAY_REDIS_URL must be a redis:// or rediss:// URL',
    'QRELAY_MSC4108_ENABLED must be true or false, got "maybe"',
    'QRELAY_MAX_PAYLOAD_BYTES must be between 64 and 65536, got 1',
    'QRELAY_CHANNEL_ID_KEYS must be comma-separated keys of 64 to 128 hex characters',
    'QRELAY_TICKET_SIGNING_JWKS is not a usable JWK set (the JWK set has no "keys" array)',
    'QRELAY_WEBHOOK_URL must be an absolute URL',
    'QRELAY_WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 bytes',
    'QRELAY_RATE_READS_PER_CHANNEL needs a count ≥ 1 and a window ≥ 1s',
    'QRELAY_RATE_WRITES_PER_CHANNEL must look like 30/60s (count/window with unit ms, s, m or h), got "lots"',
    'QRELAY_ADMIN_TOKEN must be at least 32 characters',
    'QRELAY_SECRETS_KEYS is not a usable keyring (needs entries "<key id>:<64 hex digits>" (entry 1 is not))',
    'QRELAY_TOTP_ISSUER must be non-empty and contain no colon',
    'QRELAY_INTROSPECTION_CLIENTS the secret of client "a" must be at least 32 characters',
    'QRELAY_POLICY_FAR_ACTION must be one of allow, step_up, deny, got "maybe"',
    'QRELAY_INITIATION_CODE_DIGITS must be a whole number, got "3.5"',
    'QRELAY_TYPO is not a qrelay setting',
    'QRELAY_PORT_TYPO is not a qrelay setting',
  ],
  duplicateClient: ['QRELAY_INTROSPECTION_CLIENTS client "a" appears twice'],
  badClientId: ['QRELAY_INTROSPECTION_CLIENTS needs entries "<client id>:<secret>" with ids of letters, digits, . _ -'],
  redisWithoutUrl: ['QRELAY_REDIS_URL is required when QRELAY_STORE=redis'],
  nonceWithoutKey: ['QRELAY_UIA_KEY is required when QRELAY_DPOP_NONCE=true and QRELAY_STORE=redis (the nonce key is derived from it)'],
  webhookWithoutSecret: ['QRELAY_WEBHOOK_SECRET is required when QRELAY_WEBHOOK_URL is set'],
  webhookCredentials: ['QRELAY_WEBHOOK_URL must not carry credentials'],
  backoff: ['QRELAY_WEBHOOK_BACKOFF_MAX_MS must not be below QRELAY_WEBHOOK_BACKOFF_BASE_MS'],
  requestTimeout: ['QRELAY_REQUEST_TIMEOUT_MS must not be below QRELAY_HEADERS_TIMEOUT_MS'],
  publicHost: ['QRELAY_PUBLIC_BASE_URL is required when QRELAY_HOST is not a loopback address'],
  twoCrossField: ['QRELAY_REDIS_URL is required when QRELAY_STORE=redis'],
}

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    parseConfig(env)
    return []
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
}

/** Every key of every level, in order: toStrictEqual ignores key order. */
const keyPaths = (value: unknown, prefix = ''): string[] =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map)
    ? Object.entries(value).flatMap(([key, inner]) => [`${prefix}${key}`, ...keyPaths(inner, `${prefix}${key}.`)])
    : []

describe('parseConfig gives what it gave before the typed declaration', () => {
  for (const [name, env] of Object.entries(ENVS)) {
    it(`the ${name} environment`, () => {
      const config = parseConfig(env)
      const expected = EXPECTED[name]
      expect(config).toStrictEqual(expected)
      expect(keyPaths(config)).toEqual(keyPaths(expected))
    })
  }

  for (const [name, env] of Object.entries(BAD_ENVS)) {
    it(`the problems of the ${name} environment`, () => {
      expect(problemsOf(env)).toEqual(EXPECTED_PROBLEMS[name])
    })
  }
})
