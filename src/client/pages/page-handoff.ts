/**
 * The end of a QR login on a new-device page (`/login`, `/link#…`): the DPoP-bound session goes over
 * to the page's HttpOnly cookies with one same-origin `POST /login/session` (the token and a proof by
 * the page's in-memory, non-extractable key); the server revokes the tokens this script holds, so
 * afterwards no script holds a token, and the page opens `/account` as this device.
 *
 * @see ../../../docs/pages.md
 */
import type { DeviceSession } from '../sign-in.ts'
import { format, type Messages, say } from './dom.ts'

/** Hands `session` over to the page cookies and opens `/account`. Throws when the server refuses. */
export const openAccountAs = async (messages: Messages, session: DeviceSession): Promise<void> => {
  const handed = await session.authorizedFetch('/login/session', { method: 'POST', credentials: 'same-origin' })
  if (handed.status !== 204) throw new Error(`hand-over refused: ${handed.status}`)
  say('status', format(messages, 'loginOpening'))
  location.assign('/account')
}
