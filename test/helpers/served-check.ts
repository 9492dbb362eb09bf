/**
 * The response check (`openapi-check.ts`) for answers of a real server (a child process or a server
 * on port 0), fetched over HTTP. The server's own route table is out of reach, so the document used
 * is the one of every operation qrelay can mount (`OPERATIONS`): an answer of a documented operation
 * must have a documented status, a declared media type and, for JSON, a body matching its schema.
 *
 * Deliberately not checked: paths of no operation (the HTML pages other than the described forms, made-up
 * paths), whose answers the document does not describe; and the `404 unknown endpoint` / `405` answers
 * of a server whose configuration does not mount that operation (the full document lists it anyway).
 */
import { buildDocument, OPERATIONS } from '../../src/http/openapi/document.ts'
import { responseChecker } from './openapi-check.ts'

let check: ReturnType<typeof responseChecker> | undefined

/** Set on a `fetch` that checks every loopback answer itself (`test/setup/check-served-fetch.ts`). */
export const CHECKS_SERVED: unique symbol = Symbol.for('qrelay.test.checksServed')

/** The routing answers of an operation the server did not mount (see the module comment). */
const notMounted = async (response: Response): Promise<boolean> => {
  if (response.status !== 404 && response.status !== 405) return false
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return false
  const body = (await response.clone().json()) as { errcode?: unknown; error?: unknown }
  const expected = response.status === 404 ? 'unknown endpoint' : 'method not allowed on this endpoint'
  return body.errcode === 'M_UNRECOGNIZED' && body.error === expected
}

/**
 * Checks one answer of a served qrelay against the document (the body is read from a clone, so the
 * caller still has it). Throws an Error naming the first mismatch.
 *
 * @example
 * const res = await fetch(`${base}/v1/login`, init)
 * await checkServed('POST', res.url, res)
 */
export const checkServed = async (method: string, url: string, response: Response): Promise<void> => {
  if (await notMounted(response)) return
  check ??= responseChecker(buildDocument(OPERATIONS, []))
  await check(method, new URL(url).pathname, response)
}

/**
 * `fetch`, with the answer checked by {@link checkServed}.
 *
 * @example
 * const res = await checkedFetch(`${server.url}/readyz`)
 */
export const checkedFetch = async (url: string, init: RequestInit = {}): Promise<Response> => {
  const response = await fetch(url, init)
  // Where the global fetch already checks loopback answers (the setup file), once is enough.
  if (!(CHECKS_SERVED in globalThis.fetch)) await checkServed(init.method ?? 'GET', url, response)
  return response
}
