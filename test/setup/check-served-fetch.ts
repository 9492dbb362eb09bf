/**
 * Every answer a test fetches from a server on loopback is checked against the OpenAPI document
 * (`test/helpers/served-check.ts`): the integration, security and Redis projects load this file, so a test that
 * calls plain `fetch` on a real server (a child process or `startNodeServer` on port 0) cannot let
 * code and document disagree unseen. What the check skips on purpose (paths of no operation, the
 * routing answers of an operation a server's configuration does not mount) is said there.
 */
import { CHECKS_SERVED, checkServed } from '../helpers/served-check.ts'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const unchecked = globalThis.fetch

const target = (input: RequestInfo | URL, init: RequestInit | undefined): { method: string; url: string } => {
  if (input instanceof Request) return { method: init?.method ?? input.method, url: input.url }
  return { method: init?.method ?? 'GET', url: input instanceof URL ? input.href : input }
}

const checkingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const response = await unchecked(input, init)
  const { method, url } = target(input, init)
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  // Upgrades and redirects followed elsewhere carry no body the document describes.
  if (parsed !== undefined && parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname) && response.status !== 101) {
    await checkServed(method.toUpperCase(), url, response)
  }
  return response
}

globalThis.fetch = Object.assign(checkingFetch, { [CHECKS_SERVED]: true })
