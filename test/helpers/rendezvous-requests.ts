/**
 * Request builders for the rendezvous APIs through app.request(): they set the headers real clients
 * send (Content-Length included, which `Request` does not add by itself).
 */
import type { TestApp } from './make-app.ts'

export const V2024 = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'
export const V4388 = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
export const NATIVE = '/v1/rendezvous'

const byteLength = (text: string): number => new TextEncoder().encode(text).length

export const textInit = (method: string, body: string, headers: Record<string, string> = {}): RequestInit => ({
  method,
  body,
  headers: { 'Content-Type': 'text/plain', 'Content-Length': String(byteLength(body)), ...headers },
})

export const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => {
  const text = JSON.stringify(body)
  return { method, body: text, headers: { 'Content-Type': 'application/json', 'Content-Length': String(byteLength(text)), ...headers } }
}

/** Path of a 2024 session URL (the app is mounted at the root of https://relay.example). */
export const sessionPath = (url: string): string => new URL(url).pathname

/** Creates a 2024 session and returns its path and first ETag. */
export const create2024 = async (t: TestApp, body = '', headers: Record<string, string> = {}) => {
  const res = await t.app.request(V2024, textInit('POST', body, headers))
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  const { url } = (await res.json()) as { url: string }
  return { path: sessionPath(url), url, etag: res.headers.get('etag') as string, res }
}

/** Creates an MSC4388 (or native) channel and returns the body. */
export const createJson = async (t: TestApp, prefix = V4388, data = '', headers: Record<string, string> = {}) => {
  const res = await t.app.request(prefix, jsonInit('POST', { data }, headers))
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as { id: string; sequence_token: string; expires_in_ms: number; creator_secret?: string; ticket?: string }
}
