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
    doc: 'argon2id memory cost of new password hashes (older hashes are rehashed at the next login)',
  }),
  argon2Iterations: knob.int({
    env: 'QRELAY_ARGON2_ITERATIONS',
    default: 2,
    min: 1,
    max: 64,
    doc: 'argon2id passes over memory',
  }),
  argon2Parallelism: knob.int({
    env: 'QRELAY_ARGON2_PARALLELISM',
    default: 1,
    min: 1,
    max: 16,
    doc: 'argon2id lanes',
  }),
  passwordMinLength: knob.int({
    env: 'QRELAY_PASSWORD_MIN_LENGTH',
    default: 10,
    min: 8,
    max: 128,
    doc: 'fewest characters of a new password (common passwords are refused whatever their length)',
  }),
  accessTokenTtlSeconds: knob.int({
    env: 'QRELAY_ACCESS_TOKEN_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 86_400,
    doc: 'lifetime of an access token',
  }),
  refreshTokenTtlSeconds: knob.int({
    env: 'QRELAY_REFRESH_TOKEN_TTL_SECONDS',
    default: 2_592_000,
    min: 300,
    max: 31_536_000,
    doc: 'absolute lifetime of a refresh-token family (a device session)',
  }),
  refreshGraceMs: knob.int({
    env: 'QRELAY_REFRESH_GRACE_MS',
    default: 2000,
    min: 0,
    max: 60_000,
    doc: 'a just-rotated refresh token presented again within this time is a concurrent duplicate (refused, nothing revoked) rather than a replay',
  }),
  uiaSessionTtlSeconds: knob.int({
    env: 'QRELAY_UIA_SESSION_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 3600,
    doc: 'lifetime of a user-interactive auth session',
  }),
  /** Key (hex) of the HMAC binding UIA sessions to their request; random per process when unset. */
  uiaKeyHex: knob.custom({
    env: 'QRELAY_UIA_KEY',
    parse: hexKey,
    doc: 'hex key binding UIA sessions to their request; random per process when unset — set it when several processes serve',
  }),
  registrationEnabled: knob.boolean({
    env: 'QRELAY_REGISTRATION_ENABLED',
    default: false,
    doc: 'let anyone create an account with POST /v1/register',
  }),
  /** Bearer token of the admin endpoint; when unset the endpoint does not exist. */
  adminToken: knob.custom({
    env: 'QRELAY_ADMIN_TOKEN',
    parse: adminToken,
    doc: 'bearer token of POST /v1/admin/users and /v1/admin/abuse (lift a network block) (at least 32 characters, secret); unset: no admin endpoint',
  }),
  /**
   * Keyring sealing second-factor secrets at rest, `kid:hex64,kid2:hex64` (the first seals, the
   * others only open); when unset a key is generated and kept in the data dir (Node) or the key object (Workers).
   */
  secretsKeys: knob.custom({
    env: 'QRELAY_SECRETS_KEYS',
    parse: sealingKeyring,
    doc: 'keys sealing TOTP secrets at rest (XChaCha20-Poly1305): comma-separated "<key id>:<64 hex digits>", the first seals, the others only open (rotation: put the new key first; values re-seal when used) (secret); unset: a key generated on first start in <data dir>/secrets-keys (Workers: in the key object) — set it when several processes serve',
  }),
  totpIssuer: knob.custom({
    env: 'QRELAY_TOTP_ISSUER',
    default: 'qrelay',
    parse: totpIssuer,
    doc: 'issuer name authenticator apps show for TOTP keys (no colon)',
  }),
  failuresPerAccount: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT',
    default: '10/900s',
    doc: 'failed password, TOTP and recovery-code guesses per account from all untrusted clients together (no device-trust token or session, not a network of one of its devices); further ones get 429 unchecked',
  }),
  failuresPerAccountTrusted: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_TRUSTED',
    default: '30/900s',
    doc: 'failed guesses per account from trusted clients together (device-trust tokens, signed-in devices, networks of its devices); with the untrusted limit, bounds all checked guesses at an account',
  }),
  failuresPerAccountNetwork: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_NETWORK',
    default: '10/900s',
    doc: 'failed guesses per (account, client network) for clients without a device-trust token or session',
  }),
  failuresPerClient: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_CLIENT',
    default: '30/900s',
    doc: 'failed guesses per client network across accounts, for clients without a device-trust token or session',
  }),
  failuresPerTrustedDevice: knob.rate({
    env: 'QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE',
    default: '10/900s',
    doc: 'failed guesses per device-trust token or signed-in device (their own budget: not locked out by failures elsewhere)',
  }),
  deviceTrustTtlSeconds: knob.int({
    env: 'QRELAY_DEVICE_TRUST_TTL_SECONDS',
    default: 7_776_000,
    min: 3600,
    max: 31_536_000,
    doc: 'lifetime of the device_trust token a password sign-in returns (renewed at each sign-in that presents it)',
  }),
  registerPerClient: knob.rate({
    env: 'QRELAY_RATE_REGISTER_PER_CLIENT',
    default: '10/3600s',
    doc: 'accounts created by open registration per client address',
  }),
} satisfies Section

/** The RFC 8628 device authorization grant that signs a new device in through the channel. */
export const oauth = {
  grantTtlSeconds: knob.int({
    env: 'QRELAY_GRANT_TTL_SECONDS',
    default: 300,
    min: 30,
    max: 1800,
    doc: 'lifetime of a device authorization grant (its device code and user code)',
  }),
  pollIntervalSeconds: knob.int({
    env: 'QRELAY_POLL_INTERVAL_SECONDS',
    default: 5,
    min: 1,
    max: 60,
    doc: 'polling interval the new device is told to keep at the token endpoint (RFC 8628; slow_down adds 5 s)',
  }),
  userCodeAttemptsPerAccount: knob.rate({
    env: 'QRELAY_RATE_USER_CODE_PER_ACCOUNT',
    default: '10/300s',
    doc: 'user-code lookups and approvals per approving account, whatever their outcome (the primary bound on code guessing)',
  }),
  userCodeAttemptsPerClient: knob.rate({
    env: 'QRELAY_RATE_USER_CODE_PER_CLIENT',
    default: '100/300s',
    doc: 'failed user-code lookups (unknown or expired codes) per client address before the address is refused for the rest of the window; valid lookups do not count, so colleagues behind one NAT do not refuse each other',
  }),
  deviceAuthorizationPerClient: knob.rate({
    env: 'QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT',
    default: '60/60s',
    doc: 'device authorization requests (new QR logins) per client address (an office behind one NAT shares it)',
  }),
  tokenRequestsPerClient: knob.rate({
    env: 'QRELAY_RATE_TOKEN_PER_CLIENT',
    default: '1200/60s',
    doc: 'token endpoint requests (polls and refreshes) per client address; each grant is held to its polling interval by slow_down already, so this only caps an address: 1200/60s lets 100 devices behind one NAT poll every 5 s',
  }),
  /** RFC 9449 §8: the token endpoint demands a server-issued DPoP nonce in every proof. */
  dpopNonce: knob.boolean({
    env: 'QRELAY_DPOP_NONCE',
    default: false,
    doc: 'RFC 9449 server nonces: DPoP proofs at /oauth2/token (and at /oauth2/device_authorization when one is sent) must carry the DPoP-Nonce the server hands out (400 use_dpop_nonce otherwise; clients retry once); nonces are stateless, keyed from QRELAY_UIA_KEY — set it when several processes serve',
  }),
  /** Resource servers allowed to introspect tokens (RFC 7662): client id → secret. */
  introspectionClients: knob.custom({
    env: 'QRELAY_INTROSPECTION_CLIENTS',
    default: '',
    parse: clientCredentials,
    doc: 'resource servers allowed to call POST /oauth2/introspect (RFC 7662) with HTTP Basic: comma-separated "<client id>:<secret>" (secrets ≥ 32 characters); empty: no introspection endpoint',
  }),
} satisfies Section
