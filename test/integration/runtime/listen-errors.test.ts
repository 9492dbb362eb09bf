/**
 * `listen` (src/runtime/node-listen.ts): an error of the bound server (a failed `accept`, which Node
 * emits on the server while it keeps listening) reaches the runtime's handler, every time, and the
 * server goes on answering. Before, the listen's own one-shot listener took the first such error and
 * the next one, with no listener left, was an uncaught exception that ended the process.
 */
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.ts'
import { listen } from '../../../src/runtime/node-listen.ts'

describe('listen', () => {
  it('finding 27: hands every error of the bound server to its handler and goes on serving', async () => {
    const heard: string[] = []
    const config = parseConfig({ QRELAY_PORT: '0', QRELAY_HOST: '127.0.0.1' })
    const server = await listen(
      config,
      () => new Response('ok'),
      undefined,
      undefined,
      (error) => heard.push(error.message),
    )
    try {
      for (const code of ['ENOBUFS', 'ENOMEM'])
        server.emit('error', Object.assign(new Error(`accept ${code}`), { code, syscall: 'accept' }))
      expect(heard).toEqual(['accept ENOBUFS', 'accept ENOMEM'])
      const { port } = server.address() as AddressInfo
      const answer = await fetch(`http://127.0.0.1:${port}/anything`)
      expect(await answer.text()).toBe('ok')
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('still rejects when the port cannot be bound', async () => {
    const first = await listen(
      parseConfig({ QRELAY_PORT: '0', QRELAY_HOST: '127.0.0.1' }),
      () => new Response('ok'),
      undefined,
      undefined,
      () => {},
    )
    try {
      const { port } = first.address() as AddressInfo
      const taken = parseConfig({ QRELAY_PORT: String(port), QRELAY_HOST: '127.0.0.1' })
      await expect(
        listen(
          taken,
          () => new Response('ok'),
          undefined,
          undefined,
          () => {},
        ),
      ).rejects.toThrow(/EADDRINUSE/)
    } finally {
      await new Promise<void>((resolve) => first.close(() => resolve()))
    }
  })
})
