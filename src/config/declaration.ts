/**
 * The declaration of qrelay's configuration: every knob, grouped in sections, in the README's order.
 * {@link Config} is inferred from it, `parseConfig` walks it and `scripts/config-table.ts` prints it.
 */
import type { ConfigOf, Declaration, Knob } from './knob.ts'
import { auth, oauth } from './knobs/auth.ts'
import { abuse, geo, policy } from './knobs/policy.ts'
import { network, rateLimit, rendezvous, tickets, webhooks, websocket } from './knobs/relay.ts'
import { server, storage } from './knobs/server.ts'

/** Every section of knobs, in the README's order (which is also the order of {@link Config}'s keys). */
export const DECLARATION = {
  server,
  storage,
  rendezvous,
  websocket,
  network,
  tickets,
  webhooks,
  rateLimit,
  auth,
  oauth,
  geo,
  abuse,
  policy,
} satisfies Declaration

/** The whole configuration, as `parseConfig` returns it (frozen), inferred from {@link DECLARATION}. */
export type Config = ConfigOf<typeof DECLARATION>

/** Every knob, in the order the README lists them. */
export const KNOBS: readonly Knob[] = Object.values(DECLARATION).flatMap((section) => Object.values(section))
