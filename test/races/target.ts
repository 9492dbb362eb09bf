/**
 * What a race runs against, without any Node-only import, so the intents run inside workerd too.
 */
import type { Send } from '../helpers/account-client.ts'

/** The admin token every race configuration is started with (as in the accounts flow suite). */
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'

/** One configuration under test. */
export interface RaceTarget {
  label: string
  /** How many processes serve (attempt i goes to process i % processes). */
  processes: number
  /** A client at `peer` talking to process `process`. */
  send(peer: string, process?: number): Send
  /** The servers' clock (DPoP proofs and TOTP codes are made for it). */
  now(): number
  close(): Promise<void>
}
