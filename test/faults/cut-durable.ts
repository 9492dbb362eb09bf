/**
 * A process's durable store cut in the middle of a use case, for the crash suites (finding 43's
 * password change, finding 44's "not me" report): armed with `watch`, it is cut right after the first
 * write `watch` finds has landed; armed with `before`, right before the first call `before` names. From
 * the cut nothing of the process's store runs (`kill`: the call never answers, as a killed process's),
 * or that call and every later one throw (`error`: a store error, its answer lost).
 */
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { DurableStore } from '../../src/ports.ts'

/** How the store is cut; `none` never cuts. */
export type Fault = 'kill' | 'error' | 'none'

// What reads only; every other method of the durable store may write.
const READS = new Set([
  'get',
  'findByUsername',
  'list',
  'listByAccount',
  'getAccess',
  'getRefreshFamily',
  'readEvents',
  'lastAuthenticated',
  'countRecoveryCodes',
])

/** When to cut (nothing is cut while both are unset). */
export interface CutState {
  /** Cut after a write once this answers true (asked after each write). */
  watch: (() => Promise<boolean>) | null
  /** Cut before a call of a method this names, the call not made. */
  before: ((method: string) => boolean) | null
  cut: boolean
}

const never = <T>(): Promise<T> => new Promise<T>(() => {})

/**
 * `inner` with every port but the outbox behind the cut; `kill` ends the process's connections.
 *
 * @example
 * const { durable, state } = cutDurable(store, 'kill', () => client.disconnect())
 * state.watch = async () => (await store.accounts.get(id))?.status === 'disabled'
 */
export const cutDurable = (inner: DurableStore, fault: Fault, kill: () => void): { durable: DurableStore; state: CutState } => {
  const state: CutState = { watch: null, before: null, cut: false }
  const fail = (): Promise<never> => {
    state.cut = true
    if (fault === 'error') throw new StoreUnavailableError('the store failed after the commit')
    kill()
    return never()
  }
  const cutting = <P extends object>(port: P): P =>
    new Proxy(port, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver)
        if (typeof value !== 'function' || typeof name !== 'string') return value
        return async (...args: unknown[]) => {
          if (state.cut) return fail()
          if (fault !== 'none' && state.before?.(name) === true) return fail()
          const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args)
          const watch = state.watch
          if (fault === 'none' || watch === null || READS.has(name)) return result
          return (await watch()) ? fail() : result
        }
      },
    })
  const durable: DurableStore = {
    ...inner,
    accounts: cutting(inner.accounts),
    credentials: cutting(inner.credentials),
    devices: cutting(inner.devices),
    tokens: cutting(inner.tokens),
    security: cutting(inner.security),
  }
  return { durable, state }
}
