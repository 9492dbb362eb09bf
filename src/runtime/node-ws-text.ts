/**
 * Text frames written to the connection in one piece.
 * `ws` frames a message as a header buffer and the payload, corked and written together (one
 * `writev` of two chunks through the stream's buffering per frame); here the frame is one buffer
 * and one plain write, the same bytes (an unmasked, unfragmented, uncompressed text frame, which is
 * what `ws` sends with compression off). Anything but an open socket goes through `ws` as before.
 */
import type { Duplex } from 'node:stream'
import { WebSocket } from 'ws'

/**
 * The frame of a text message: FIN and the text opcode, the payload length (7 bits, or 126 and 16
 * bits, or 127 and 64 bits, as RFC 6455 §5.2 asks: the shortest), no mask (a server's frames are
 * never masked), then the UTF-8 bytes.
 *
 * @example
 * textFrame('hi') // <Buffer 81 02 68 69>
 */
export const textFrame = (text: string): Buffer => {
  const length = Buffer.byteLength(text, 'utf8')
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81
  if (header === 2) frame[1] = length
  else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  frame.write(text, header, 'utf8')
  return frame
}

/**
 * The `ws` socket class of `nodeWebSocketServer`: a text message sent while the socket is open is
 * written to its connection as one frame in one buffer ({@link textFrame}); anything else goes through
 * `ws` as before. Only for a server that agrees no extension (compression off, as
 * `nodeWebSocketServer` is): `ws` then never holds a frame back, so a frame written here keeps its
 * place among those `ws` writes itself (pongs, the close). A subclass rather than a wrapper: an open
 * socket costs no object more.
 */
export class DirectTextWebSocket extends WebSocket {
  override send(data: unknown, options?: unknown, cb?: unknown): void {
    if (typeof data === 'string' && options === undefined && this.readyState === WebSocket.OPEN) {
      // `ws` keeps the network socket it was set up on as `_socket` (ws 8); should a later `ws` name
      // it otherwise, the frame goes through `ws` below.
      const connection = (this as unknown as { _socket?: Duplex })._socket
      if (connection?.writable === true) {
        connection.write(textFrame(data))
        return
      }
    }
    super.send(data as Buffer, options as { binary?: boolean }, cb as (error?: Error) => void)
  }
}
