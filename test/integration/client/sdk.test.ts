/**
 * The device SDK against a real server (port 0, memory store): both intents (the new device shows the
 * QR, or the existing one does), both transports and mixed ones, the check code, the channel binding,
 * encrypted messages both ways, and the ways a login ends (close, wrong code, third device, tampered QR).
 */
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseChannelLink, encodeChannelLink } from '../../../src/core/channel/qr-link.ts'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { ClientError } from '../../../src/client/errors.ts'
import type { FetchLike } from '../../../src/client/native-api.ts'
import type { RunningServer } from '../../../src/runtime/node-server.ts'
import { connectorOf, exchange, otherCode, pairDevices, startTestServer, type Intent, type TransportName } from './harness.ts'

let server: RunningServer
let stopServer: () => Promise<void>
beforeAll(async () => {
  const started = await startTestServer()
  server = started.server
  stopServer = started.stop
})
afterAll(async () => {
  await stopServer()
})

const channelIdOf = (link: string): string => {
  const parsed = parseChannelLink(link, server.url)
  if (!parsed.ok) throw new Error(parsed.detail)
  return parsed.value.channelId
}

const statusOfRead = async (id: string): Promise<number> => (await fetch(`${server.url}/v1/rendezvous/${id}`)).status

const rejection = async (promise: Promise<unknown>): Promise<ClientError> => {
  try {
    await promise
  } catch (error) {
    if (error instanceof ClientError) return error
    throw error
  }
  throw new Error('expected a ClientError')
}

const INTENTS: Intent[] = ['new shows', 'existing shows']
const COMBOS: Array<[TransportName, TransportName]> = [
  ['http', 'http'],
  ['ws', 'ws'],
  ['http', 'ws'],
  ['ws', 'http'],
]

describe('device SDK', () => {
  describe.each(INTENTS)('when the %s the QR', (intent) => {
    it.each(COMBOS)('logs in end to end with G on %s and S on %s', async (showerTransport, scannerTransport) => {
      const { shown, scan } = await pairDevices({ intent, showerTransport, scannerTransport, baseUrl: server.url })
      expect(shown.device).toBe(intent === 'new shows' ? 'new' : 'existing')
      expect(scan.device).toBe(intent === 'new shows' ? 'existing' : 'new')
      expect(scan.checkCode).toMatch(/^[0-9]{2}$/)
      expect(shown.status).toBe('confirming')
      await shown.confirmCheckCode(scan.checkCode)
      expect(shown.status).toBe('open')
      expect(scan.status).toBe('open')
      expect(shown.channelBinding).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(shown.channelBinding).toBe(scan.channelBinding)

      const { atShower, atScanner } = await exchange({ shown, scan }, 3)
      expect(atShower).toEqual([0, 1, 2].map((n) => ({ type: 'ping', n, text: `from S ${n} ✓` })))
      expect(atScanner).toEqual([0, 1, 2].map((n) => ({ type: 'pong', n })))

      const id = channelIdOf(shown.qrLink)
      await scan.close()
      expect(scan.status).toBe('closed')
      expect(await statusOfRead(id)).toBe(404)
      await expect(shown.receive({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'CHANNEL_GONE' })
      expect(shown.status).toBe('closed')
      await shown.close() // already gone: no error
    })
  })

  it('exposes the QR creator network from the verified ticket when scanning', async () => {
    const shown = await NewDevice.showQr({ baseUrl: server.url, transport: connectorOf('http', server.url) })
    const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl: server.url })
    expect(scan.creatorNetwork).toBe('127.0.0.0/24')
    expect(scan.ticket).toMatchObject({ issuer: server.url, network: '127.0.0.0/24' })
    expect(scan.ticket.expiresAtMs).toBeGreaterThan(Date.now())
    expect(scan.status).toBe('waiting')
    await shown.close()
  })

  it('renders the QR link as an SVG QR code', async () => {
    const shown = await NewDevice.showQr({ baseUrl: server.url })
    const svg = shown.qrSvg({ title: 'Scan to sign in' })
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    expect(svg).toContain('<title>Scan to sign in</title>')
    expect(shown.qrLink.startsWith(`${server.url}/approve#v1.`)).toBe(true)
    await shown.close()
  })

  it('writes intent login on the new device and reciprocate, on the link page, on the existing one', async () => {
    const fromNew = await NewDevice.showQr({ baseUrl: server.url })
    const fromExisting = await ExistingDevice.showQr({ baseUrl: server.url })
    expect(parseChannelLink(fromNew.qrLink, server.url)).toMatchObject({ ok: true, value: { intent: 'login' } })
    expect(parseChannelLink(fromExisting.qrLink, server.url)).toMatchObject({ ok: true, value: { intent: 'reciprocate' } })
    expect(fromExisting.qrLink.startsWith(`${server.url}/link#v1.`)).toBe(true)
    await Promise.all([fromNew.close(), fromExisting.close()])
  })

  describe('a QR shown by a device of the same kind', () => {
    /** A fetch that counts its calls, to show a refusal happens before any request. */
    const countingFetch = (): { fetch: FetchLike; calls: () => number } => {
      let calls = 0
      return {
        fetch: (input, init) => {
          calls++
          return globalThis.fetch(input, init)
        },
        calls: () => calls,
      }
    }

    it.each([
      ["a new device scans a new device's QR", NewDevice],
      ["an existing device scans an existing device's QR", ExistingDevice],
    ] as const)('is refused with INVALID_QR before any request when %s', async (_, device) => {
      const shown = await device.showQr({ baseUrl: server.url, transport: connectorOf('http', server.url) })
      const counted = countingFetch()
      const error = await rejection(device.scanQr(shown.qrLink, { baseUrl: server.url, fetch: counted.fetch }))
      expect(error.code).toBe('INVALID_QR')
      expect(error.detail).toMatch(/scan it with/)
      expect(counted.calls()).toBe(0)
      // Nobody joined: the channel still waits for its real scanner.
      const other = device === NewDevice ? ExistingDevice : NewDevice
      const scan = await other.scanQr(shown.qrLink, {
        baseUrl: server.url,
        fetch: counted.fetch,
        transport: connectorOf('http', server.url),
      })
      expect(counted.calls()).toBeGreaterThan(0)
      await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
      await shown.confirmCheckCode(scan.checkCode)
      await shown.close()
      await scan.close()
    })

    it('is refused with INVALID_QR when its page was changed to suit the scanner', async () => {
      const shown = await NewDevice.showQr({ baseUrl: server.url })
      const repathed = shown.qrLink.replace(`${server.url}/approve#`, `${server.url}/link#`)
      expect(repathed).not.toBe(shown.qrLink)
      const counted = countingFetch()
      await expect(NewDevice.scanQr(repathed, { baseUrl: server.url, fetch: counted.fetch })).rejects.toMatchObject({ code: 'INVALID_QR' })
      await expect(ExistingDevice.scanQr(repathed, { baseUrl: server.url, fetch: counted.fetch })).rejects.toMatchObject({
        code: 'INVALID_QR',
      })
      expect(counted.calls()).toBe(0)
      await shown.close()
    })
  })

  describe.each<TransportName>(['http', 'ws'])('a wrong check code over %s', (transport) => {
    it('aborts the channel, and the scanner sees it gone', async () => {
      const { shown, scan } = await pairDevices({
        intent: 'new shows',
        showerTransport: transport,
        scannerTransport: transport,
        baseUrl: server.url,
      })
      const id = channelIdOf(shown.qrLink)
      const error = await rejection(shown.confirmCheckCode(otherCode(scan.checkCode)))
      expect(error.code).toBe('CHECK_CODE_MISMATCH')
      expect(shown.status).toBe('closed')
      expect(await statusOfRead(id)).toBe(404)
      // S writes next (m.login.protocols): the channel is not there any more.
      const seen = await rejection(scan.send({ type: 'm.login.protocols' }))
      if (transport === 'ws') expect(seen).toMatchObject({ code: 'ABORTED', abortReason: 'check_code_mismatch' })
      else expect(seen.code).toBe('CHANNEL_GONE')
      expect(scan.status).toBe('closed')
      await expect(scan.send({})).rejects.toMatchObject({ code: 'INVALID_STATE' })
    })
  })

  it('asks again when the typed check code is not two digits', async () => {
    const { shown, scan } = await pairDevices({
      intent: 'existing shows',
      showerTransport: 'http',
      scannerTransport: 'http',
      baseUrl: server.url,
    })
    await expect(shown.confirmCheckCode('7')).rejects.toMatchObject({ code: 'INVALID_CHECK_CODE' })
    expect(shown.status).toBe('confirming')
    await shown.confirmCheckCode(` ${scan.checkCode} `)
    expect(shown.status).toBe('open')
    await shown.close()
    await scan.close()
  })

  it('keeps turns: G may not send first, S may not receive before it sent', async () => {
    const { shown, scan } = await pairDevices({ intent: 'new shows', showerTransport: 'ws', scannerTransport: 'http', baseUrl: server.url })
    await expect(shown.send({ early: true })).rejects.toMatchObject({ code: 'INVALID_STATE' }) // before the code
    await shown.confirmCheckCode(scan.checkCode)
    await expect(shown.send({ first: true })).rejects.toMatchObject({ code: 'NOT_YOUR_TURN' })
    await expect(scan.receive()).rejects.toMatchObject({ code: 'NOT_YOUR_TURN' })
    await shown.close()
    await scan.close()
  })

  describe.each<TransportName>(['http', 'ws'])('a third device over %s', (transport) => {
    it('is refused once the scanner has claimed the channel', async () => {
      const { shown, scan } = await pairDevices({
        intent: 'new shows',
        showerTransport: 'http',
        scannerTransport: 'http',
        baseUrl: server.url,
      })
      const third = await ExistingDevice.scanQr(shown.qrLink, { baseUrl: server.url, transport: connectorOf(transport, server.url) })
      await expect(third.connect({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'REFUSED' })
      // The two real parties go on undisturbed.
      await shown.confirmCheckCode(scan.checkCode)
      const { atShower } = await exchange({ shown, scan }, 1)
      expect(atShower).toHaveLength(1)
      await shown.close()
      await scan.close()
    })
  })

  describe('a tampered QR link', () => {
    it('is refused before joining, and the real scanner can still join', async () => {
      const shown = await NewDevice.showQr({ baseUrl: server.url })
      const link = parseChannelLink(shown.qrLink, server.url)
      if (!link.ok) throw new Error(link.detail)
      const other = await NewDevice.showQr({ baseUrl: server.url })
      const otherLink = parseChannelLink(other.qrLink, server.url)
      if (!otherLink.ok) throw new Error(otherLink.detail)
      const relinked = (fields: Partial<typeof link.value>): string => {
        const encoded = encodeChannelLink(server.url, { ...link.value, ...fields })
        if (!encoded.ok) throw new Error(encoded.detail)
        return encoded.value
      }
      const [h, p, s] = link.value.ticket.split('.') as [string, string, string]
      const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`
      const tampered = [
        relinked({ channelId: otherLink.value.channelId }), // the ticket is for another channel
        relinked({ ticket: otherLink.value.ticket }), // a ticket of another channel
        relinked({ ticket: flipped }), // a forged signature
      ]
      for (const text of tampered) {
        await expect(ExistingDevice.scanQr(text, { baseUrl: server.url })).rejects.toMatchObject({ code: 'TICKET_INVALID' })
      }
      const foreign = shown.qrLink.replace(server.url, 'https://evil.example')
      await expect(ExistingDevice.scanQr(foreign, { baseUrl: server.url })).rejects.toMatchObject({ code: 'INVALID_QR' })
      await expect(ExistingDevice.scanQr('not a link', { baseUrl: server.url })).rejects.toMatchObject({ code: 'INVALID_QR' })

      // Nobody joined: the genuine scan still claims the channel.
      const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl: server.url })
      await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
      await shown.confirmCheckCode(scan.checkCode)
      await Promise.all([shown.close(), other.close()])
      await scan.close()
    })
  })

  it('tells the other side why the channel was aborted over WebSocket', async () => {
    const { shown, scan } = await pairDevices({
      intent: 'existing shows',
      showerTransport: 'ws',
      scannerTransport: 'ws',
      baseUrl: server.url,
    })
    await shown.confirmCheckCode(scan.checkCode)
    await scan.abort('user_cancelled')
    expect(scan.status).toBe('closed')
    await expect(shown.receive({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ABORTED', abortReason: 'user_cancelled' })
    expect(shown.status).toBe('closed')
  })

  it('gives up waiting for a scanner when the caller cancels', async () => {
    const shown = await NewDevice.showQr({ baseUrl: server.url, transport: connectorOf('http', server.url) })
    const controller = new AbortController()
    const waiting = shown.waitForPeer({ signal: controller.signal })
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' })
    await shown.close()
  })

  it('prints no secret, key, channel id, link, ticket or binding', async () => {
    const { shown, scan } = await pairDevices({ intent: 'new shows', showerTransport: 'ws', scannerTransport: 'http', baseUrl: server.url })
    const link = parseChannelLink(shown.qrLink, server.url)
    if (!link.ok) throw new Error(link.detail)
    const forbidden = [
      link.value.channelId,
      link.value.ticket,
      shown.qrLink,
      shown.channelBinding,
      Buffer.from(link.value.publicKey).toString('base64').slice(0, 20),
    ]
    for (const printed of [JSON.stringify(shown), JSON.stringify(scan), inspect(shown, { depth: 10 }), inspect(scan, { depth: 10 })]) {
      for (const secret of forbidden) expect(printed).not.toContain(secret)
    }
    expect(JSON.parse(JSON.stringify(scan))).toEqual({
      device: 'existing',
      role: 'S',
      status: 'open',
      transport: 'http',
      checkCode: scan.checkCode,
      creatorNetwork: '127.0.0.0/24',
    })
    expect(JSON.parse(JSON.stringify(shown))).toEqual({ device: 'new', role: 'G', status: 'confirming', transport: 'websocket' })
    await shown.close()
    await scan.close()
  })
})

/** Bare builtins and packages that only run on Node. */
const NODE_ONLY = ['fs', 'path', 'crypto', 'net', 'http', 'os', 'util', 'ws', 'ioredis', '@hono/node-server', 'pino']

/** Node-only imports in `files` and every source file they reach by relative imports; and how many files were read. */
const nodeImportsReachableFrom = async (files: string[]): Promise<{ offenders: string[]; read: number }> => {
  const seen = new Set<string>()
  const queue = [...files]
  const offenders: string[] = []
  // Bounded: each source file is read at most once, and at most 500 of them.
  while (queue.length > 0 && seen.size < 500) {
    const file = queue.shift() as string
    if (seen.has(file)) continue
    seen.add(file)
    const text = await readFile(file, 'utf8')
    // Import and re-export statements only (an @example in a comment is not an import).
    for (const match of text.matchAll(/^(?:import|export)\b[^'`;]*?\bfrom\s*'([^']+)'|^import\s*'([^']+)'/gm)) {
      const spec = (match[1] ?? match[2]) as string
      if (spec.startsWith('node:') || NODE_ONLY.includes(spec)) offenders.push(`${file}: ${spec}`)
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec))
    }
  }
  return { offenders, read: seen.size }
}

describe('src/client', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src')

  it('imports nothing from node:, directly or through the files it imports', async () => {
    const files = (await readdir(join(root, 'client'))).filter((f) => f.endsWith('.ts')).map((f) => join(root, 'client', f))
    const { offenders, read } = await nodeImportsReachableFrom(files)
    expect(read).toBeGreaterThan(files.length)
    expect(offenders).toEqual([])
  })

  it('would notice a node: import (the check itself works)', async () => {
    const { offenders } = await nodeImportsReachableFrom([join(root, 'runtime', 'node-server.ts')])
    expect(offenders.some((o) => o.endsWith(': node:net'))).toBe(true)
  })
})
