/**
 * One OAuth request as the endpoints of the device flow read it and answer it, without a framework:
 * the Hono app builds it from its context ({@link honoExchange}), the Node fast path
 * (`src/runtime/node-fast-oauth.ts`) from `node:http`'s request. The endpoints' steps are written once,
 * on this, so both paths take the same decisions and give the same answers.
 */
import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import { noteRefusal } from './middleware/request-context.ts'
import { NO_STORE } from './routes/account-shared.ts'

/** What an OAuth endpoint reads of its request and notes for its answer. */
export interface OAuthExchange {
  /** The request's method, as received. */
  readonly method: string
  /** A request header (name in lower case), undefined when absent. */
  header(name: string): string | undefined
  /** The request, for reading its body and for the sightings' locator (a `Request` in all they use). */
  readonly request: Request
  /** The origin of the request's URL (only called without a public base URL: loopback hosts). */
  origin(): string
  /** The key per-client limits count under. */
  readonly clientKey: string
  /** The client's address as text. */
  readonly clientAddress: string
  /** Sets a header of the answer (names as the routes spell them). */
  setHeader(name: string, value: string): void
  /** Notes why the request is refused, for its access-log line (`noteRefusal`). */
  refuse(code: string, reason: string | undefined): void
  /** Aborted when the client goes away (only asked for by a held poll). */
  signal(): AbortSignal
}

/** An answer of an OAuth endpoint: a JSON body, never cached (`Cache-Control: no-store`, `Pragma: no-cache`). */
export interface OAuthAnswer {
  status: 200 | 400 | 401 | 429
  body: Record<string, unknown>
}

/**
 * The exchange of a Hono request (the request-context middleware ran).
 *
 * @example
 * return honoAnswer(c, await endpoint(honoExchange(c)))
 */
export const honoExchange = (c: Context<AppEnv>): OAuthExchange => ({
  method: c.req.method,
  header: (name) => c.req.header(name),
  request: c.req.raw,
  origin: () => new URL(c.req.url).origin,
  clientKey: c.get('clientKey'),
  clientAddress: c.get('clientAddress'),
  setHeader: (name, value) => c.header(name, value),
  refuse: (code, reason) => noteRefusal(c, code, reason),
  signal: () => c.req.raw.signal,
})

/** The Hono response of an answer. */
export const honoAnswer = (c: Context<AppEnv>, answer: OAuthAnswer): Response => c.json(answer.body, answer.status, NO_STORE)
