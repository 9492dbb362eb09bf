/**
 * The last answer on a socket node:http no longer parses (an upgrade request it handed over, a request
 * its parser refused): written, then the connection closed for good. `socket.end` alone only
 * half-closes: with nobody reading the socket any more, a request body still arriving filled its
 * buffer and the peer's close was never read, so the connection stayed open for the life of the
 * process, counted against the peer's address and waited for by a graceful stop (found after a long
 * fuzz run: the "half-closed connections" that held every stop for its whole grace). What the peer
 * still sends is read and dropped, as the app's adapter drains an unread body, for at most half a
 * second and 64 MiB; then the socket is destroyed if the peer has not closed it by then.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6 (closing a connection after a response)
 */
import type { Duplex } from 'node:stream'

/**
 * How long, and how much of, what a peer still sends after its answer is read before the connection
 * is closed: @hono/node-server's bound for a request body the app did not read (the fast paths' `drainUnread` too).
 */
export const LINGER_MS = 500
export const MAX_LINGER_BYTES = 64 * 1024 * 1024

const ignore = (): void => {}

/**
 * Writes `answer` (a whole HTTP response) as the socket's last bytes and closes it within the bound.
 *
 * @example
 * lastAnswer(socket, 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
 */
export const lastAnswer = (socket: Duplex, answer: string): void => {
  if (socket.destroyed) return
  // A peer resetting the connection meanwhile is the end of it, not a fault of the process.
  socket.on('error', ignore)
  let read = 0
  const close = (): void => {
    clearTimeout(timer)
    socket.off('data', onData)
    if (!socket.destroyed) socket.destroy()
  }
  const onData = (chunk: Buffer): void => {
    read += chunk.length
    if (read > MAX_LINGER_BYTES) close()
  }
  const timer = setTimeout(close, LINGER_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  socket.on('data', onData)
  socket.end(answer)
  socket.resume()
}
