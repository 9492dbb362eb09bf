/**
 * The metrics a runtime keeps, with the decorators that count the services and time the stores into
 * them (`metrics-services.ts`, `metrics-stores.ts`). A runtime that keeps metrics (Node, `GET /metrics`)
 * hands `compose()` a {@link Metering}; one that keeps none (Workers, the CLI) hands nothing, so the
 * decorators are not in its bundle.
 */
import type { Metrics } from '../ports/metrics.ts'
import type { DurableStore, EphemeralStore } from '../ports.ts'
import { countedAccounts, countedRendezvous } from './metrics-services.ts'
import { timedDurableStore, timedEphemeralStore } from './metrics-stores.ts'
import type { RendezvousService } from './rendezvous.ts'
import type { AccountServices } from './services.ts'

/** The metrics and what wraps the services and stores into them (applied only while `metrics.enabled`). */
export interface Metering {
  readonly metrics: Metrics
  ephemeralStore(store: EphemeralStore): EphemeralStore
  durableStore(store: DurableStore): DurableStore
  rendezvous(rendezvous: RendezvousService): RendezvousService
  accounts(accounts: AccountServices): AccountServices
}

/**
 * The metering of `metrics`.
 *
 * @example
 * const services = compose(config, { ...ports, metering: meteringOf(metrics) })
 */
export const meteringOf = (metrics: Metrics): Metering => ({
  metrics,
  ephemeralStore: (store) => timedEphemeralStore(store, metrics),
  durableStore: (store) => timedDurableStore(store, metrics),
  rendezvous: (rendezvous) => countedRendezvous(rendezvous, metrics),
  accounts: (accounts) => countedAccounts(accounts, metrics),
})
