/**
 * Refuses top-level navigation to channel reads, by the Fetch Metadata request headers: a channel
 * payload is never a page, so a link or a typed URL must not be able to show one.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4388 (GET /rendezvous/{id})
 * @see https://www.w3.org/TR/fetch-metadata/
 */
import { RelayError } from '../../core/errors.ts'

/** Throws NAVIGATION_REFUSED when the headers say the request is a navigation or not made by script. */
export const refuseNavigation = (headers: Headers): void => {
  const dest = headers.get('sec-fetch-dest')
  const mode = headers.get('sec-fetch-mode')
  const user = headers.get('sec-fetch-user')
  const site = headers.get('sec-fetch-site')
  if ((dest !== null && dest !== 'empty') || mode === 'navigate' || user === '?1' || site === 'none') {
    throw new RelayError('NAVIGATION_REFUSED', { detail: 'channels cannot be opened as a page' })
  }
}
