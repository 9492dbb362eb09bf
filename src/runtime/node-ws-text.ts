/**
 * The relay's side of an adopted `ws` socket: text frames written to the connection in one piece.
 * `ws` frames a message as a header buffer and the payload, corked and written together (one
 * `writev` of two chunks through the stream's buffering per frame); here the frame is one buffer
 * and one plain write, the same bytes (an unmasked, unfragmented, uncompressed text frame, which is
 * what `ws` sends with compression off). Anything but an open socket goes through `ws` as before.
 */
import type { Duplex } from 'node:stream'
import { WebSocket } from 'ws'

/** What the relay is given of an adopted socket (`RelaySocket`). */
export interface TextSocket {
  send(text: string): void
  close(code: number, reason: string): void
}

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
 * An adopted socket as the relay talks to it: `ws`, and `connection`, the network socket it was
 * upgraded on, written to directly while the WebSocket is open and no extension was agreed (as
 * `nodeWebSocketServer` offers none): `ws` then never holds a frame back, so a frame written here
 * keeps its place among those `ws` writes itself (pongs, the close).
 */
export class DirectTextSocket implements TextSocket {
  /** False when the handshake agreed on an extension (compression): then every frame goes through `ws`. */
  private readonly direct: boolean

  constructor(
    private readonly ws: WebSocket,
    private readonly connection: Duplex,
  ) {
    this.direct = ws.extensions === ''
  }

  send(text: string): void {
    if (this.direct && this.ws.readyState === WebSocket.OPEN) this.connection.write(textFrame(text))
    else this.ws.send(text)
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }
}
