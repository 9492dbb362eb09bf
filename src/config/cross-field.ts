/**
 * The rules between knobs, checked once every knob parsed: `parseConfig` reports the first one
 * broken. Variable names come from the declaration, so a renamed knob renames its messages.
 */
import type { Config } from './declaration.ts'
import { auth, oauth } from './knobs/auth.ts'
import { webhooks } from './knobs/relay.ts'
import { server, storage } from './knobs/server.ts'
import { isLoopbackHost } from './loopback-host.ts'

/** A rule between knobs: the problem when `config` breaks it, else undefined. */
type CrossFieldRule = (config: Config) => string | undefined

const RULES: readonly CrossFieldRule[] = [
  ({ storage: s }) =>
    s.kind === 'redis' && s.redisUrl === undefined ? `${storage.redisUrl.env} is required when ${storage.kind.env}=redis` : undefined,
  ({ storage: s }) =>
    s.redisTlsCaFile !== undefined && !/^rediss/i.test(s.redisUrl ?? '')
      ? `${storage.redisTlsCaFile.env} needs a TLS ${storage.redisUrl.env} (rediss://, rediss+sentinel:// or rediss+cluster://)`
      : undefined,
  // Nonces are keyed from the UIA key: a per-process key would refuse another process's nonces.
  (c) =>
    c.oauth.dpopNonce && c.storage.kind === 'redis' && c.auth.uiaKeyHex === undefined
      ? `${auth.uiaKeyHex.env} is required when ${oauth.dpopNonce.env}=true and ${storage.kind.env}=redis (the nonce key is derived from it)`
      : undefined,
  ({ webhooks: w }) =>
    w.url !== undefined && w.secret === undefined ? `${webhooks.secret.env} is required when ${webhooks.url.env} is set` : undefined,
  ({ webhooks: w }) =>
    w.backoffMaxMs < w.backoffBaseMs ? `${webhooks.backoffMaxMs.env} must not be below ${webhooks.backoffBaseMs.env}` : undefined,
  ({ server: s }) =>
    s.requestTimeoutMs < s.headersTimeoutMs ? `${server.requestTimeoutMs.env} must not be below ${server.headersTimeoutMs.env}` : undefined,
  // Otherwise the request's Host header would decide the URLs handed out and the DPoP htu checked.
  ({ server: s }) =>
    s.publicBaseUrl === undefined && !isLoopbackHost(s.host)
      ? `${server.publicBaseUrl.env} is required when ${server.host.env} is not a loopback address`
      : undefined,
]

/** The problem of the first rule between knobs that `config` breaks, or undefined. */
export const crossFieldProblem = (config: Config): string | undefined => {
  for (const rule of RULES) {
    const problem = rule(config)
    if (problem !== undefined) return problem
  }
  return undefined
}
