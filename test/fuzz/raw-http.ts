/**
 * A raw HTTP/1.1 client over node:net for the fuzzer: it writes exactly the bytes it is given (lying
 * Content-Length, chunked bodies, invalid UTF-8, odd header spellings) that fetch would refuse or fix,
 * one request per connection (`Connection: close`), and reads the answer until the server closes.
 * Every request is bounded by a timeout.
 */
import { connect } from 'node:net'

/** How the body goes on the wire. */
export type Framing =
  | { kind: 'length' }
  /** Content-Length that does not match: `delta` bytes more (the server waits, then we half-close) or fewer. */
  | { kind: 'lying-length'; delta: number }
  /** Transfer-Encoding: chunked, in chunks of `size` bytes (a bad terminator when `broken`). */
  | { kind: 'chunked'; size: number; broken: boolean }
  /** Both Content-Length and Transfer-Encoding (request smuggling shape, RFC 9112 §6.3). */
  | { kind: 'both' }
  /** No framing header at all, body bytes still sent. */
  | { kind: 'none' }

/** One request as bytes. */
export interface RawRequest {
  method: string
  /** The request target as sent (may be malformed). */
  target: string
  headers: ReadonlyArray<readonly [string, string]>
  body: Uint8Array
  framing: Framing
}

/** What came back. */
export interface RawResponse {
  /** 0 when the server closed without a parsable status line (or the request timed out). */
  status: number
  headers: Record<string, string>
  body: Buffer
  timedOut: boolean
  /** The socket error seen while sending or reading (EPIPE, ECONNRESET), if any. */
  sendError?: string
}

const CRLF = '\r\n'

/**
 * `body` in chunks of `size` bytes, written into one buffer: a megabyte in 1-byte chunks is six
 * million bytes, and a Buffer per piece took seconds of the client's time (counted against the server).
 */
const encodeChunks = (body: Buffer, size: number, broken: boolean): Buffer => {
  const count = Math.ceil(body.length / size)
  const out = Buffer.allocUnsafe(body.length + count * (size.toString(16).length + 4) + 5)
  let at = 0
  for (let i = 0; i < body.length; i += size) {
    const chunk = body.subarray(i, i + size)
    at += out.write(`${chunk.length.toString(16)}${CRLF}`, at, 'latin1')
    at += chunk.copy(out, at)
    at += out.write(CRLF, at, 'latin1')
  }
  at += out.write(broken ? `zz${CRLF}` : `0${CRLF}${CRLF}`, at, 'latin1')
  return out.subarray(0, at)
}

/** The wire bytes of `request` to `host`. */
export const encodeRequest = (request: RawRequest, host: string): Buffer => {
  const lines = [`${request.method} ${request.target} HTTP/1.1`]
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()))
  if (!names.has('host')) lines.push(`Host: ${host}`)
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`)
  lines.push('Connection: close')
  const body = Buffer.from(request.body)
  const f = request.framing
  let payload: Buffer = body
  if (f.kind === 'length') lines.push(`Content-Length: ${body.length}`)
  else if (f.kind === 'lying-length') lines.push(`Content-Length: ${Math.max(0, body.length + f.delta)}`)
  else if (f.kind === 'both') lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked')
  if (f.kind === 'chunked' || f.kind === 'both') {
    lines.push(...(f.kind === 'chunked' ? ['Transfer-Encoding: chunked'] : []))
    payload = encodeChunks(body, f.kind === 'chunked' ? Math.max(1, f.size) : Math.max(1, body.length), f.kind === 'chunked' && f.broken)
  }
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'latin1'), payload])
}

const decodeChunked = (data: Buffer): Buffer => {
  const out: Buffer[] = []
  let at = 0
  for (let guard = 0; guard < 100_000; guard++) {
    const end = data.indexOf(CRLF, at)
    if (end < 0) break
    const size = Number.parseInt(data.subarray(at, end).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    out.push(data.subarray(end + 2, end + 2 + size))
    at = end + 2 + size + 2
  }
  return Buffer.concat(out)
}

/** Parses a complete response (the server closed the connection after it). */
export const parseResponse = (data: Buffer): Omit<RawResponse, 'timedOut'> => {
  const split = data.indexOf(CRLF + CRLF)
  if (split < 0) return { status: 0, headers: {}, body: Buffer.alloc(0) }
  const head = data.subarray(0, split).toString('latin1').split(CRLF)
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const rest = data.subarray(split + 4)
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
  const body =
    headers['transfer-encoding']?.toLowerCase() === 'chunked'
      ? decodeChunked(rest)
      : length !== undefined && Number.isFinite(length)
        ? rest.subarray(0, length)
        : rest
  return { status, headers, body }
}

/** True once `data` holds a whole response (no need to wait for the close). */
const isComplete = (data: Buffer): boolean => {
  const split = data.indexOf(CRLF + CRLF)
  if (split < 0) return false
  const head = data.subarray(0, split).toString('latin1')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
  if (status === 101 || status === 204 || status === 304) return true
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
  if (length !== undefined) return data.length - split - 4 >= Number(length)
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return data.subarray(split + 4).includes('0\r\n\r\n')
  return false
}

/** Bytes handed to the socket at a time: between slices, an answer already sent is read first. */
const SLICE = 64 * 1024

/**
 * Sends `request` to 127.0.0.1:`port` and resolves with the answer. A lying Content-Length that
 * promises more bytes than sent is followed by a half-close after `halfCloseMs`, so the server sees
 * the end of the stream instead of waiting for its own timeout.
 *
 * The bytes are encoded before the clock starts (the timeout is the server's), written in slices
 * with backpressure, and the writing stops once a whole answer has arrived: a server may answer
 * early (401 before the body) and close while the client is still sending. A write error
 * (EPIPE, ECONNRESET) does not end the exchange by itself: whatever the server sent before is kept
 * and parsed when the socket closes, so an answer the server sent is counted as one.
 */
export const sendRaw = (port: number, request: RawRequest, timeoutMs = 5_000, halfCloseMs = 20): Promise<RawResponse> =>
  new Promise((resolve) => {
    const bytes = encodeRequest(request, `127.0.0.1:${port}`)
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let received = 0
    let done = false
    // Bounds the connect too; restarted once connected, for the exchange itself.
    let timer = setTimeout(() => finish(true), timeoutMs)
    let sendError: string | undefined
    const finish = (timedOut: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const response = parseResponse(Buffer.concat(chunks, received))
      resolve({ ...response, timedOut, ...(sendError === undefined ? {} : { sendError }) })
    }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      received += chunk.length
      if (isComplete(Buffer.concat(chunks, received))) finish(false)
    })
    socket.on('end', () => finish(false))
    socket.on('close', () => finish(false))
    // 'close' follows; the answer read so far is parsed then.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      sendError = error.code ?? error.message
    })
    socket.on('connect', () => {
      clearTimeout(timer)
      timer = setTimeout(() => finish(true), timeoutMs)
      let at = 0
      const f = request.framing
      const short = (f.kind === 'lying-length' && f.delta > 0) || (f.kind === 'chunked' && f.broken)
      const writeSlices = (): void => {
        for (let guard = 0; guard < 1_000_000 && at < bytes.length && !done; guard++) {
          const slice = bytes.subarray(at, at + SLICE)
          at += slice.length
          if (!socket.write(slice)) {
            socket.once('drain', writeSlices)
            return
          }
        }
        if (at >= bytes.length && short && !done) setTimeout(() => socket.end(), halfCloseMs)
      }
      writeSlices()
    })
  })
