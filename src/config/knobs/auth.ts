/**
 * The knobs of accounts, sign-in and the device authorization grant, in the README's order.
 */
import { knob, type Section } from '../knob.ts'
import { adminToken, clientCredentials, hexKey, sealingKeyring } from '../parse-secrets.ts'
import { totpIssuer } from '../parse-values.ts'

/** Accounts, password login, user-interactive auth, second factors and device tokens. */
export const auth = {
  argon2MemoryKiB: knob.int({
    env: 'QRELAY_ARGON2_MEMORY_KIB',
    default: 19456,
    min: 64,
    max: 1_048_576,
  }),
  argon2Iterations: knob.int({
    env: 'QRELAY_ARGON2_ITERATIONS',
    default: 2,
    min: 1,
    max: 64,
  }),
  argon2Parallelism: knob.int({
    env: 'QRELAY_ARGON2_PARALLELISM',
    default: 1,
    min: 1,
    max: 16,
  }),
  passwordMinLength: knob.int({
    env: 'QRELAY_PASSWORD_MIN_LENGTH',
    default: 10,
    min: 8,
    max: 128,
  }),
  accessTokenTtlSeconds: knob.int({
    env: 'QRELAY_ACCESS_TOKEN_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 86_400,
  }),
  refreshTokenTtlSeconds: knob.int({
    env: 'QRELAY_REFRESH_TOKEN_TTL_SECONDS',
    default: 2_592_000,
    min: 300,
    max: 31_536_000,
  }),
  refreshGraceMs: knob.int({
    env: 'QRELAY_REFRESH_GRACE_MS',
    default: 2000,
    min: 0,
    max: 60_000,
  }),
  /** Signed-in devices one account may hold; at the cap a new sign-in is refused (finding 62). */
  maxDevicesPerAccount: knob.int({
    env: 'QRELAY_MAX_DEVICES_PER_ACCOUNT',
    default: 100,
    min: 1,
    max: 100_000,
  }),
  uiaSessionTtlSeconds: knob.int({
    env: 'QRELAY_UIA_SESSION_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 3600,
  }),
  /** Key (hex) of the HMAC binding UIA sessions to their request; random per process when unset. */
  uiaKeyHex: knob.custom({
    env: 'QRELAY_UIA_KEY',
    secret: true,
    parse: hexKey,
  }),
  registrationEnabled: knob.boolean({
    env: 'QRELAY_REGISTRATION_ENABLED',
    default: false,
  }),
  /** Bearer token of the admin endpoint; when unset the endpoint does not exist. */
  adminToken: knob.custom({
    env: 'QRELAY_ADMIN_TOKEN',
    secret: true,
    parse: adminToken,
  }),
  /**
   * Keyring sealing second-factor secrets at rest, `kid:hex64,kid2:hex64` (the first seals, the
   * others only open); when unset a key is generated and kept in the data dir (Node) or the key object (Workers).
   */
  secretsKeys: knob.custom({
    env: 'QRELAY_SECRETS_KEYS',
    secret: true,
    parse: sealingKeyring,
  }),
  totpIssuer: knob.custom({
    env: 'QRELAY_TOTP_ISSUER',
    default: 'qrelay',
    parse: totpIssuer,
  }),
  failuresPerAccount: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT',
    default: '10/900s',
  }),
  failuresPerAccountTrusted: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_TRUSTED',
    default: '30/900s',
  }),
  failuresPerAccountNetwork: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_NETWORK',
    default: '10/900s',
  }),
  failuresPerClient: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_CLIENT',
    default: '30/900s',
  }),
  failuresPerTrustedDevice: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE',
    default: '10/900s',
  }),
  deviceTrustTtlSeconds: knob.int({
    env: 'QRELAY_DEVICE_TRUST_TTL_SECONDS',
    default: 7_776_000,
    min: 3600,
    max: 31_536_000,
  }),
  /** New device_trust tokens per account (renewals not counted): each is stored for its lifetime (finding 61). */
  deviceTrustPerAccount: knob.rate({
    env: 'QRELAY_RATE_DEVICE_TRUST_PER_ACCOUNT',
    default: '20/86400s',
  }),
  registerPerClient: knob.rate({
    env: 'QRELAY_RATE_REGISTER_PER_CLIENT',
    default: '10/3600s',
  }),
  /** Registration requests that look a username up, per client address (whether a name is taken is an answer about an account). */
  registerChecksPerClient: knob.rate({
    env: 'QRELAY_RATE_REGISTER_CHECKS_PER_CLIENT',
    default: '30/3600s',
  }),
  /**
   * New UIA sessions (the 401 challenge of a login, a registration or a step-up) per client address: each
   * is stored until it expires, so without a limit anyone could fill the store with them (finding 59).
   */
  uiaStartsPerClient: knob.rate({
    env: 'QRELAY_RATE_UIA_STARTS_PER_CLIENT',
    default: '600/60s',
  }),
  /** Renames made by one device (of itself or of another device): each is reported to the account's feed, which keeps the newest 100 events for 7 days. */
  renamesPerDevice: knob.rate({
    env: 'QRELAY_RATE_RENAMES_PER_DEVICE',
    default: '10/86400s',
  }),
} satisfies Section

/** The RFC 8628 device authorization grant that signs a new device in through the channel. */
export const oauth = {
  grantTtlSeconds: knob.int({
    env: 'QRELAY_GRANT_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 1800,
  }),
  pollIntervalSeconds: knob.int({
    env: 'QRELAY_POLL_INTERVAL_SECONDS',
    default: 5,
    min: 1,
    max: 60,
  }),
  userCodeAttemptsPerAccount: knob.rate({
    env: 'QRELAY_RATE_USER_CODE_PER_ACCOUNT',
    default: '10/300s',
  }),
  userCodeAttemptsPerClient: knob.rate({
    env: 'QRELAY_RATE_USER_CODE_PER_CLIENT',
    default: '100/300s',
  }),
  deviceAuthorizationPerClient: knob.rate({
    env: 'QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT',
    default: '60/60s',
  }),
  tokenRequestsPerClient: knob.rate({
    env: 'QRELAY_RATE_TOKEN_PER_CLIENT',
    default: '1200/60s',
  }),
  /** RFC 9449 §8: the token endpoint demands a server-issued DPoP nonce in every proof. */
  dpopNonce: knob.boolean({
    env: 'QRELAY_DPOP_NONCE',
    default: false,
  }),
  /** Resource servers allowed to introspect tokens (RFC 7662): client id → secret. */
  introspectionClients: knob.custom({
    env: 'QRELAY_INTROSPECTION_CLIENTS',
    secret: true,
    default: '',
    parse: clientCredentials,
  }),
} satisfies Section
