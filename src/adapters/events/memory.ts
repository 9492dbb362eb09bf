/**
 * Security events kept in memory: the reference {@link SecurityEvents} until delivery exists (the
 * events endpoint and webhooks plug in behind the same port). Bounded per account, oldest dropped.
 */
import type { SecurityEvent, SecurityEvents } from '../../ports.ts'

/** The memory sink, with what it recorded readable (tests, and the later events endpoint). */
export interface MemorySecurityEvents extends SecurityEvents {
  /** The account's events, oldest first. */
  list(accountId: string): SecurityEvent[]
}

/**
 * Builds the memory sink, keeping at most `maxPerAccount` events per account.
 *
 * @example
 * const events = memorySecurityEvents()
 * await events.emit(account.id, { type: 'recovery_code_used', atMs: clock.now() })
 */
export const memorySecurityEvents = (maxPerAccount = 100): MemorySecurityEvents => {
  const byAccount = new Map<string, SecurityEvent[]>()
  return {
    async emit(accountId, event) {
      const list = byAccount.get(accountId) ?? []
      list.push(structuredClone(event))
      if (list.length > maxPerAccount) list.splice(0, list.length - maxPerAccount)
      byAccount.set(accountId, list)
    },
    list(accountId) {
      return structuredClone(byAccount.get(accountId) ?? [])
    },
  }
}
