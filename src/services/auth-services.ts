/**
 * Builds the account, session, second-factor and UIA services from the config and the stores, in one
 * place, for the runtimes, the CLI and the tests.
 */
import type { Config } from '../config.ts'
import type { Clock, DurableStore, EphemeralStore, Random, SecurityEvents } from '../ports.ts'
import { accountsService, type AccountsService } from './accounts.ts'
import { authFailures, type AuthFailures } from './auth-failures.ts'
import { rateLimiter, type RateLimiter } from './rate-limiter.ts'
import { secondFactorsService, type SecondFactorsService } from './second-factors.ts'
import { sessionsService, type SessionsService } from './sessions.ts'
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
  durable: DurableStore
  events: SecurityEvents
}

/** What {@link authServices} needs. */
export interface AuthServicesDeps {
  auth: Config['auth']
  store: EphemeralStore
  durable: DurableStore
  events: SecurityEvents
  clock: Clock
  random: Random
  /** Key of the UIA request binding (see `requestBodyHash`). */
  uiaKey: Uint8Array
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
 * const auth = authServices({ auth: config.auth, store, durable, events, clock, random, uiaKey })
 */
export const authServices = (deps: AuthServicesDeps): AuthServices => {
  const { auth, store, durable, events, clock, random } = deps
  const limiter = rateLimiter(store.counters, clock)
  const accounts = accountsService({
    durable,
    clock,
    random,
    argon2: argon2ParamsOf(auth),
    passwordPolicy: { minLength: auth.passwordMinLength, maxLength: 256 },
    events,
  })
  const secondFactors = secondFactorsService({ durable, accounts, clock, random, events, totpIssuer: auth.totpIssuer })
  const sessions = sessionsService({
    durable,
    clock,
    random,
    accessTokenTtlMs: auth.accessTokenTtlSeconds * 1000,
    refreshTokenTtlMs: auth.refreshTokenTtlSeconds * 1000,
    refreshGraceMs: auth.refreshGraceMs,
    kv: store.kv,
  })
  const failures = authFailures({ kv: store.kv, limiter, clock, perAccount: auth.failuresPerAccount, perClient: auth.failuresPerClient })
  const uia = uiaService({
    kv: store.kv,
    clock,
    random,
    bindingKey: deps.uiaKey,
    ttlMs: auth.uiaSessionTtlSeconds * 1000,
    accounts,
    secondFactors,
    failures,
  })
  return { accounts, sessions, secondFactors, uia, limiter, failures, durable, events }
}
