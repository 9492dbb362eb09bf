/**
 * qrelay's own QR form: an https link a phone camera opens straight into the right page.
 *
 * `https://relay.example/<approve|link>#v1.<b64url(key ‖ intent ‖ u8 len ‖ channel id)>.<channel ticket>`
 * (the ticket is a compact JWS)
 *
 * The intent byte mirrors MSC4388's: `0x00` login (the new device shows the QR, the existing device
 * scans it and opens `/approve`), `0x01` reciprocate (the existing device shows it, the new device
 * scans it and opens `/link`). A scanner can thus refuse a QR of its own kind before the handshake.
 * Everything sits in the fragment, which browsers never send, so the channel id and ticket stay out of
 * server and proxy logs. The ticket is already base64url, so it is appended as is rather than encoded
 * a second time (a third shorter QR). The link carries bearer values: treat it as a secret.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/726e1154/proposals/4388-secure-qr-channel.md#qr-code-format
 */
import { fail, ok, type Result } from '../errors.ts'
import { fromBase64Url, toBase64Url } from '../crypto/secrets.ts'
import { OPAQUE_ID, ascii, byteReader, concatBytes, hexByte, isHttpUrl, utf8Text, withU8Length } from './qr-bytes.ts'
import type { Msc4388Qr } from './qr-msc4388.ts'

/** Path of the approve page (login links: the existing device scans), below the server's public base URL. */
export const APPROVE_PATH = '/approve'
/** Path of the link page (reciprocate links: the new device scans), below the server's public base URL. */
export const LINK_PATH = '/link'
/** Fragment version tag. */
export const LINK_VERSION = 'v1'
/** Longest fragment accepted (a version-40 QR holds 2953 bytes; phones scan far less dense codes well). */
export const MAX_FRAGMENT_CHARS = 2048

/** Who shows the QR, as in MSC4388: `login` = the new device, `reciprocate` = the existing device. */
export type LinkIntent = Msc4388Qr['intent']

/** What a channel link carries. */
export interface ChannelLink {
  /** Who shows the QR: `login` (the new device) or `reciprocate` (the existing device). */
  intent: LinkIntent
  /** The showing device's ephemeral X25519 public key (32 bytes). */
  publicKey: Uint8Array
  /** The native channel's id (opaque grammar). A bearer value. */
  channelId: string
  /** The signed channel ticket, compact JWS (`header.payload.signature`). Never log it. */
  ticket: string
}

const INTENT_BYTE = { login: 0x00, reciprocate: 0x01 } as const satisfies Record<LinkIntent, number>
const INTENT_PATH = { login: APPROVE_PATH, reciprocate: LINK_PATH } as const satisfies Record<LinkIntent, string>
const JWS_PART = /^[A-Za-z0-9_-]+$/
const LOOPBACK_HOST = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/

/**
 * The page a link of `intent` opens below `baseUrl` (`/approve` for login, `/link` for reciprocate).
 * Refuses non-http(s) URLs, queries, fragments, credentials, and plain http except on loopback hosts
 * (a link opened by a phone must not travel in clear text).
 * Errors: INVALID_PARAM.
 * @example
 * pageUrlOf('https://relay.example/', 'reciprocate') // { ok: true, value: 'https://relay.example/link' }
 */
export const pageUrlOf = (baseUrl: string, intent: LinkIntent): Result<string, 'INVALID_PARAM'> => {
  if (!isHttpUrl(baseUrl)) return fail('INVALID_PARAM', 'the base URL is not an absolute http(s) URL')
  const url = new URL(baseUrl)
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return fail('INVALID_PARAM', 'the base URL must not carry a query, fragment or credentials')
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
    return fail('INVALID_PARAM', 'the base URL must be https (plain http only on loopback)')
  }
  return ok(`${url.origin}${url.pathname.replace(/\/+$/, '')}${INTENT_PATH[intent]}`)
}

/**
 * The approve page URL below `baseUrl`: {@link pageUrlOf} for login links.
 * Errors: INVALID_PARAM.
 * @example
 * approveUrlOf('https://relay.example/') // { ok: true, value: 'https://relay.example/approve' }
 */
export const approveUrlOf = (baseUrl: string): Result<string, 'INVALID_PARAM'> => pageUrlOf(baseUrl, 'login')

/**
 * Builds the link to put in the QR code (as a byte segment) for a native channel.
 *
 * Errors (INVALID_PARAM): bad base URL, unknown intent, key not 32 bytes, id outside the opaque grammar,
 * ticket not a compact JWS, link too long.
 * @example
 * const link = encodeChannelLink('https://relay.example', { intent: 'login', publicKey, channelId, ticket })
 */
export const encodeChannelLink = (baseUrl: string, link: ChannelLink): Result<string, 'INVALID_PARAM'> => {
  // The type says login | reciprocate, but plain-JS callers can pass anything.
  if (!Object.hasOwn(INTENT_BYTE, link.intent)) return fail('INVALID_PARAM', `unknown intent ${String(link.intent)}`)
  const page = pageUrlOf(baseUrl, link.intent)
  if (!page.ok) return page
  if (link.publicKey.length !== 32)
    return fail('INVALID_PARAM', `bad length: the public key must be 32 bytes, got ${link.publicKey.length}`)
  if (!OPAQUE_ID.test(link.channelId)) return fail('INVALID_PARAM', 'the channel id is not an opaque identifier')
  const parts = link.ticket.split('.')
  if (parts.length !== 3 || !parts.every((p) => JWS_PART.test(p))) return fail('INVALID_PARAM', 'the ticket is not a compact JWS')
  const head = toBase64Url(concatBytes(link.publicKey, Uint8Array.of(INTENT_BYTE[link.intent]), withU8Length(ascii(link.channelId))))
  const fragment = `${LINK_VERSION}.${head}.${link.ticket}`
  if (fragment.length > MAX_FRAGMENT_CHARS) return fail('INVALID_PARAM', `the link fragment exceeds ${MAX_FRAGMENT_CHARS} characters`)
  return ok(`${page.value}#${fragment}`)
}

/**
 * Parses the fragment of a channel link (`location.hash`, with or without its `#`). The page that
 * reads it checks the intent suits it (see {@link parseChannelLink}).
 *
 * Errors (INVALID_PARAM, detail says which): unknown version, not five dot-separated parts, bad
 * base64url, truncated or trailing bytes, key length, unknown intent, id grammar, ticket parts, too long.
 * @example
 * const link = parseChannelFragment(location.hash)
 */
export const parseChannelFragment = (fragment: string): Result<ChannelLink, 'INVALID_PARAM'> => {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment
  if (text.length > MAX_FRAGMENT_CHARS) return fail('INVALID_PARAM', `the link fragment exceeds ${MAX_FRAGMENT_CHARS} characters`)
  const parts = text.split('.')
  if (parts[0] !== LINK_VERSION) return fail('INVALID_PARAM', `unknown link version: expected ${LINK_VERSION}`)
  if (parts.length !== 5)
    return fail('INVALID_PARAM', 'the link fragment must be v1.<head>.<ticket header>.<ticket payload>.<ticket signature>')
  const [, head, ...ticket] = parts as [string, string, string, string, string]
  let bytes: Uint8Array
  try {
    bytes = fromBase64Url(head)
  } catch {
    // Safe: the decoder throws only on text that is not base64url, which is bad input answered as a Result.
    return fail('INVALID_PARAM', 'the link head is not base64url')
  }
  // Decoders accept some non-canonical spellings; one spelling per value keeps the link unforgeable by re-spelling.
  if (toBase64Url(bytes) !== head) return fail('INVALID_PARAM', 'the link head is not canonical base64url')
  const reader = byteReader(bytes)
  const publicKey = reader.take(32)
  if (publicKey === null) return fail('INVALID_PARAM', 'truncated: the public key is shorter than 32 bytes')
  const intentByte = reader.u8()
  if (intentByte === null) return fail('INVALID_PARAM', 'truncated: no intent byte')
  const intent = intentByte === INTENT_BYTE.login ? 'login' : intentByte === INTENT_BYTE.reciprocate ? 'reciprocate' : null
  if (intent === null) return fail('INVALID_PARAM', `unknown intent ${hexByte(intentByte)}`)
  const idLength = reader.u8()
  if (idLength === null) return fail('INVALID_PARAM', 'truncated: no length of the channel id')
  const idBytes = reader.take(idLength)
  if (idBytes === null) return fail('INVALID_PARAM', `truncated: the channel id is shorter than its length ${idLength}`)
  if (reader.remaining > 0) return fail('INVALID_PARAM', `trailing bytes: ${reader.remaining} after the channel id`)
  const channelId = utf8Text(idBytes)
  if (channelId === null || !OPAQUE_ID.test(channelId)) return fail('INVALID_PARAM', 'the channel id is not an opaque identifier')
  if (!ticket.every((p) => JWS_PART.test(p))) return fail('INVALID_PARAM', 'the ticket is not a compact JWS')
  return ok({ intent, publicKey, channelId, ticket: ticket.join('.') })
}

/**
 * Parses a whole channel link, checking it points at this server's approve or link page (same origin
 * and path, no query) before reading the fragment, and that the page suits the link's intent.
 *
 * Errors (INVALID_PARAM): not a URL, another origin or path, a query, a page that does not match the
 * intent, plus {@link parseChannelFragment}'s.
 * @example
 * const link = parseChannelLink(scannedText, 'https://relay.example')
 */
export const parseChannelLink = (text: string, baseUrl: string): Result<ChannelLink, 'INVALID_PARAM'> => {
  const approve = pageUrlOf(baseUrl, 'login')
  if (!approve.ok) return approve
  const linkPage = pageUrlOf(baseUrl, 'reciprocate')
  if (!linkPage.ok) return linkPage
  if (!isHttpUrl(text)) return fail('INVALID_PARAM', 'the link is not an absolute http(s) URL')
  const url = new URL(text)
  if (url.username !== '' || url.password !== '' || url.search !== '') {
    return fail('INVALID_PARAM', 'the link must not carry credentials or a query')
  }
  const page = `${url.origin}${url.pathname}`
  if (page !== approve.value && page !== linkPage.value) {
    return fail('INVALID_PARAM', "the link does not point at this server's approve or link page")
  }
  if (url.hash === '') return fail('INVALID_PARAM', 'the link has no fragment')
  const parsed = parseChannelFragment(url.hash)
  if (!parsed.ok) return parsed
  // A re-pathed link would send the user to the page meant for the other device.
  const expected = parsed.value.intent === 'login' ? approve.value : linkPage.value
  if (page !== expected) {
    const { intent } = parsed.value
    return fail('INVALID_PARAM', `the link's page does not match its intent: ${intent} links open ${INTENT_PATH[intent]}`)
  }
  return parsed
}
