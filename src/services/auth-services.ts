/**
 * Builds the account, session, second-factor and UIA services from the config and the stores, in one
 * place, for the runtimes, the CLI and the tests.
 */
import type { WiderShares } from '../core/policy/ipv6-prefixes.ts'
import type { Config } from '../config.ts'
import type { SealingKeyring } from '../core/crypto/sealed-secret.ts'
import type { CommonPasswords } from '../core/auth/password-rules.ts'
import { dpopNonceKeyOf } from '../core/oauth/dpop-nonce.ts'
import type { Clock, DurableStore, EphemeralStore, Random, SecurityEvents } from '../ports.ts'
import { accountsService, type AccountsService } from './accounts.ts'
import { authFailures, type AuthFailures } from './auth-failures.ts'
import { deviceTrust, type DeviceTrust } from './device-trust.ts'
import { prefixLimits } from './prefix-limits.ts'
import { rateLimiter, type RateLimiter } from './rate-limiter.ts'
import { secondFactorsService, type SecondFactorsService } from './second-factors.ts'
import { handOffToPage } from './page-handoff.ts'
import { type IssuedTokens, type Principal, sessionsService, type SessionsService } from './sessions.ts'
import type { TokenMintDeps } from './token-mint.ts'
import { uiaService, type UiaService } from './uia.ts'

/** The account side of the app. */
export interface AuthServices {
  accounts: AccountsService
  sessions: SessionsService
  secondFactors: SecondFactorsService
  uia: UiaService
  limiter: RateLimiter
  /** The brute-force guard the UIA stages use, for the other places a code is typed. */
  failures: AuthFailures
  /** Device-trust tokens and known networks: where a guess comes from. */
  trust: DeviceTrust
  durable: DurableStore
  events: SecurityEvents
  /** Key of the stateless DPoP nonces, derived from the UIA key (shared by processes that share it). */
  dpopNonceKey: Uint8Array
  /** `POST /login/session`: a QR login's DPoP-bound session traded for the page cookies' tokens (`page-handoff.ts`). */
  pageHandoff: (principal: Principal) => Promise<IssuedTokens>
}

/** What {@link authServices} needs. */
export interface AuthServicesDeps {
  /** The auth section, and the IPv6 /56 and /48 shares of per-client limits (`rateLimit`). */
  config: { auth: Config['auth']; rateLimit: WiderShares }
  store: EphemeralStore
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  random: Random
  /** Key of the UIA request binding (see `requestBodyHash`). */
  uiaKey: Uint8Array
  /** Seals second-factor secrets at rest (see `src/adapters/keys/sealing-keys.ts`). */
  keyring: SealingKeyring
  /** The process's rate limiter, when already built (default: one on `store.counters`). */
  limiter?: RateLimiter
  /** The common passwords a new password must not be (the built-in list: `core/auth/common-passwords.ts`). */
  commonPasswords: CommonPasswords
}

/** The argon2id parameters the config names. */
export const argon2ParamsOf = (auth: Config['auth']) => ({
  memoryKiB: auth.argon2MemoryKiB,
  iterations: auth.argon2Iterations,
  parallelism: auth.argon2Parallelism,
  saltBytes: 16,
  hashBytes: 32,
})

/**
 * Builds the services.
 *
 * @example
 * const auth = authServices({ config, store, durable, events, clock, random, uiaKey, keyring, commonPasswords })
 */
export const authServices = (deps: AuthServicesDeps): AuthServices => {
  const { store, durable, events, clock, random } = deps
  const { auth, rateLimit } = deps.config
  const limiter = deps.limiter ?? rateLimiter(store.counters, clock)
  const accounts = accountsService({
    durable,
    clock,
    random,
    argon2: argon2ParamsOf(auth),
    passwordPolicy: { minLength: auth.passwordMinLength, maxLength: 256 },
    commonPasswords: deps.commonPasswords,
    events,
  })
  const secondFactors = secondFactorsService({
    durable,
    accounts,
    clock,
    random,
    events,
    totpIssuer: auth.totpIssuer,
    keyring: deps.keyring,
  })
  const tokenMint: TokenMintDeps = {
    durable,
    clock,
    random,
    accessTokenTtlMs: auth.accessTokenTtlSeconds * 1000,
    refreshTokenTtlMs: auth.refreshTokenTtlSeconds * 1000,
  }
  const sessionLimits = { refreshGraceMs: auth.refreshGraceMs, maxDevicesPerAccount: auth.maxDevicesPerAccount }
  const sessions = sessionsService({ ...tokenMint, ...sessionLimits, kv: store.kv, events })
  const failures = authFailures({
    limiter,
    limits: {
      perAccount: auth.failuresPerAccount,
      perAccountTrusted: auth.failuresPerAccountTrusted,
      perAccountNetwork: auth.failuresPerAccountNetwork,
      perClient: auth.failuresPerClient,
      perTrustedDevice: auth.failuresPerTrustedDevice,
    },
  })
  const ttlMs = auth.deviceTrustTtlSeconds * 1000
  const trust = deviceTrust({ kv: store.kv, durable, random, clock, ttlMs, issues: { limiter, rule: auth.deviceTrustPerAccount } })
  const uia = uiaService({
    starts: { prefixes: prefixLimits(limiter, rateLimit), rule: auth.uiaStartsPerClient },
    kv: store.kv,
    clock,
    random,
    bindingKey: deps.uiaKey,
    ttlMs: auth.uiaSessionTtlSeconds * 1000,
    accounts,
    secondFactors,
    failures,
    trust,
  })
  return {
    accounts,
    sessions,
    secondFactors,
    uia,
    limiter,
    failures,
    trust,
    durable,
    events,
    dpopNonceKey: dpopNonceKeyOf(deps.uiaKey),
    pageHandoff: (principal) => handOffToPage(tokenMint, principal),
  }
}
