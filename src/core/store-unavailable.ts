/**
 * The error a storage adapter (or a wrapper around one) throws when its backend cannot be reached for
 * now: the app answers it 503 with `Retry-After`, never 500, and never as a refusal of the request
 * (a client that retries must find the same state, see `sessions.refresh` and `device-login.poll`).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
  readonly code = 'STORE_UNAVAILABLE'
}
