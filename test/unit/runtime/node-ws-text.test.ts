import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { DirectTextWebSocket, textFrame } from '../../../src/runtime/node-ws-text.ts'

// `ws` exports its frame writer (untyped): `Sender.frame` gives the header and the payload it writes.
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] }
}

/** The frame `ws` itself writes for a text message from a server without compression (header, then payload). */
const wsFrame = (text: string): Buffer =>
  Buffer.concat(Sender.frame(Buffer.from(text, 'utf8'), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }))

describe('textFrame', () => {
  it('writes the bytes ws writes, at every length form (7, 16 and 64 bits)', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = 'x'.repeat(length)
      expect(textFrame(text).equals(wsFrame(text))).toBe(true)
    }
    // Multi-byte characters count in UTF-8 bytes: 42 × 3 = 126 bytes, the 16-bit form.
    expect(textFrame('€'.repeat(42)).equals(wsFrame('€'.repeat(42)))).toBe(true)
  })

  it('writes the bytes ws writes for any text, lone surrogates included', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 300 }), (text) => {
        expect(textFrame(text).equals(wsFrame(text))).toBe(true)
      }),
    )
  })
})

describe('DirectTextWebSocket', () => {
  it('delivers what it sends, in order with what ws sends itself, and leaves a closed socket to ws', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, WebSocket: DirectTextWebSocket })
    try {
      await once(wss, 'listening')
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
      const received: string[] = []
      client.on('message', (data) => received.push(String(data)))
      const [server] = (await once(wss, 'connection')) as [WebSocket]
      expect(server).toBeInstanceOf(DirectTextWebSocket)
      const texts = ['', 'a', 'é😀\u0000', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(70_000)]
      for (const text of texts) server.send(text)
      // Through ws itself (a Buffer): keeps its place after the frames written directly.
      server.send(Buffer.from('last'), { binary: false })
      for (let i = 0; i < 200 && received.length < texts.length + 1; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(received).toEqual([...texts, 'last'])
      const closed = once(client, 'close')
      server.close(1000, 'done')
      server.send('after the close')
      expect((await closed).map(String)).toEqual(['1000', 'done'])
      expect(received).toHaveLength(texts.length + 1)
    } finally {
      wss.close()
    }
  })
})
