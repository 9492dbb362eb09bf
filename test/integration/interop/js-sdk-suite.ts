/**
 * matrix-js-sdk 43's own rendezvous code against a running qrelay: the 2024 transport
 * (`MSC4108RendezvousSession`, what Element Web ships) and the ECIES secure channel on top of it
 * (`MSC4108SecureChannel` with @matrix-org/matrix-sdk-crypto-wasm). `describeJsSdkInterop(name, deploy)`
 * runs the same scenarios on any deployment: one process, or two processes behind which each side's
 * requests are spread. The js-sdk polls once a second, so every scenario lets at most a few polls wait.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (what js-sdk requires of responses)
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { MSC4108RendezvousSession } from 'matrix-js-sdk/lib/rendezvous/transports/MSC4108RendezvousSession.js'
import type { RendezvousFailureReason } from 'matrix-js-sdk/lib/rendezvous/index.js'
import type { MSC4108Payload } from 'matrix-js-sdk/lib/rendezvous/MSC4108SignInWithQR.js'

// js-sdk 43 calls Promise.withResolvers (ES2024), which Node 20 lacks; install it before the SDK loads.
const promiseStatics = Promise as unknown as { withResolvers?: unknown }
if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
const { MSC4108RendezvousSession: Session } = await import('matrix-js-sdk/lib/rendezvous/transports/MSC4108RendezvousSession.js')
const { MSC4108SecureChannel } = await import('matrix-js-sdk/lib/rendezvous/channels/MSC4108SecureChannel.js')
const { ClientRendezvousFailureReason, MSC4108FailureReason } = await import('matrix-js-sdk/lib/rendezvous/RendezvousFailureReason.js')
const { PayloadType } = await import('matrix-js-sdk/lib/rendezvous/MSC4108SignInWithQR.js')
const { logger: sdkLogger } = await import('matrix-js-sdk/lib/logger.js')
const wasm = await import('@matrix-org/matrix-sdk-crypto-wasm')
await wasm.initAsync()
// The transport logs every payload at info level; the test output only needs its warnings.
;(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('warn')

const PREFIX = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'
const GRANT = 'device_authorization_grant'
const HOMESERVER = 'https://m.example'

/** Where the two sides send their requests. */
export interface Deployment {
  /** Origins side A's requests rotate through; A creates the session on the first. */
  originsA: readonly string[]
  /** Origins side B's requests rotate through. */
  originsB: readonly string[]
  stop(): Promise<void>
}

interface Exchange {
  side: 'A' | 'B'
  method: string
  origin: string
  status: number
}

/** Every request the sides made, in order, and a way to wait for the next one that matches. */
interface Journal {
  entries: Exchange[]
  record(exchange: Exchange): void
  next(match: (exchange: Exchange) => boolean): Promise<void>
}

const newJournal = (): Journal => {
  const entries: Exchange[] = []
  let waiters: Array<{ match: (e: Exchange) => boolean; resolve: () => void }> = []
  return {
    entries,
    record(exchange) {
      entries.push(exchange)
      for (const waiter of waiters) if (waiter.match(exchange)) waiter.resolve()
      waiters = waiters.filter((waiter) => !waiter.match(exchange))
    },
    next: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
  }
}

/** A fetch that sends each request to the next origin of `origins`, keeping the path, and journals it. */
const routedFetch = (side: 'A' | 'B', origins: readonly string[], journal: Journal): typeof globalThis.fetch => {
  let calls = 0
  return async (input, init) => {
    const origin = origins[calls++ % origins.length] as string
    const url = new URL(input instanceof Request ? input.url : String(input))
    const res = await fetch(`${origin}${url.pathname}${url.search}`, init)
    journal.record({ side, method: init?.method ?? 'GET', origin, status: res.status })
    return res
  }
}

/** A string of exactly `bytes` UTF-8 bytes: a JSON message padded like a large ciphertext. */
const paddedJson = (type: string, bytes: number): string => {
  const bare = JSON.stringify({ type, pad: '' })
  const text = JSON.stringify({ type, pad: 'x'.repeat(bytes - new TextEncoder().encode(bare).length) })
  expect(new TextEncoder().encode(text).length).toBe(bytes)
  return text
}

/**
 * Runs the js-sdk scenarios against the deployment `deploy()` starts.
 *
 * @example
 * describeJsSdkInterop('one process', async () => ({ originsA: [url], originsB: [url], stop }))
 */
export const describeJsSdkInterop = (name: string, deploy: () => Promise<Deployment>): void => {
  describe(`matrix-js-sdk 43 rendezvous: ${name}`, () => {
    let deployment: Deployment
    let journal: Journal
    let failures: { A: RendezvousFailureReason[]; B: RendezvousFailureReason[] }
    let opened: MSC4108RendezvousSession[]

    // Generous: a `wrangler dev` deployment starts workerd first.
    beforeAll(async () => {
      deployment = await deploy()
    }, 120_000)
    beforeEach(() => {
      journal = newJournal()
      failures = { A: [], B: [] }
      opened = []
    })
    afterAll(async () => {
      await deployment?.stop()
    })
    afterEach(async () => {
      // Clears the transports' expiry timers; a session already gone just answers 404.
      for (const session of opened) await session.close()
    })

    /** Side A: creates the session, as the device showing the QR code does. */
    const sideA = (): MSC4108RendezvousSession => {
      const session = new Session({
        fallbackRzServer: `${deployment.originsA[0]}${PREFIX}`,
        fetchFn: routedFetch('A', deployment.originsA, journal),
        onFailure: (reason) => failures.A.push(reason),
      })
      opened.push(session)
      return session
    }

    /** Side B: joins with the URL from the QR code, as the scanning device does. */
    const sideB = (url: string): MSC4108RendezvousSession => {
      const session = new Session({
        url,
        fetchFn: routedFetch('B', deployment.originsB, journal),
        onFailure: (reason) => failures.B.push(reason),
      })
      opened.push(session)
      return session
    }

    /** A creates with an empty payload, B answers with the initiate message, A receives it. */
    const connected = async (initiate = 'MATRIX_QR_CODE_LOGIN_INITIATE') => {
      const a = sideA()
      await a.send('')
      expect(a.ready).toBe(true)
      expect(a.url).toMatch(new RegExp(`^${deployment.originsA[0]}${PREFIX}/[A-Za-z0-9_-]{32}$`))
      const b = sideB(a.url as string)
      await b.send(initiate)
      expect(await a.receive()).toBe(initiate)
      return { a, b }
    }

    it('carries Initiate, Ok and JSON messages both ways with exact payloads', async () => {
      const { a, b } = await connected()
      const ok = 'MATRIX_QR_CODE_LOGIN_OK'
      await a.send(ok)
      expect(await b.receive()).toBe(ok)

      // One receive that has to poll: B sends only once A's first poll got 304, so A polls again a second later.
      const protocols = JSON.stringify({ type: 'm.login.protocols', protocols: [GRANT], homeserver: HOMESERVER })
      const polled = journal.next((e) => e.side === 'A' && e.method === 'GET' && e.status === 304)
      const waiting = a.receive()
      await polled
      await b.send(protocols)
      expect(await waiting).toBe(protocols)

      const script: Array<['A' | 'B', string]> = [
        ['A', JSON.stringify({ type: 'm.login.protocol', protocol: GRANT, device_id: 'ABCDEFGHIJ' })],
        ['B', JSON.stringify({ type: 'm.login.protocol_accepted' })],
        // Echoing the same bytes back: the ETag must still change, or B would poll forever.
        ['A', JSON.stringify({ type: 'm.login.protocol_accepted' })],
        ['B', JSON.stringify({ type: 'm.login.success', note: 'Grüße ✓ 👋' })],
        ['A', paddedJson('m.login.secrets', 4096)],
      ]
      for (const [from, payload] of script) {
        const [sender, receiver] = from === 'A' ? [a, b] : [b, a]
        await sender.send(payload)
        expect(await receiver.receive()).toBe(payload)
      }

      expect(failures).toEqual({ A: [], B: [] })
      expect(journal.entries.filter((e) => e.status === 304).length).toBeGreaterThan(0)
      expect(journal.entries.filter((e) => e.status >= 400)).toEqual([])
      for (const [side, origins] of [
        ['A', deployment.originsA],
        ['B', deployment.originsB],
      ] as const) {
        const used = new Set(journal.entries.filter((e) => e.side === side).map((e) => e.origin))
        expect([...used].sort()).toEqual([...new Set(origins)].sort())
      }
    })

    it('tells the other side through a 404 (onFailure "unknown") when one side closes', async () => {
      const { a, b } = await connected()
      await a.close()
      expect(journal.entries.at(-1)).toMatchObject({ side: 'A', method: 'DELETE', status: 204 })
      expect(await b.receive()).toBeUndefined()
      expect(b.cancelled).toBe(true)
      expect(failures).toEqual({ A: [], B: [ClientRendezvousFailureReason.Unknown] })
      const res = await fetch(`${deployment.originsB[0]}${new URL(a.url as string).pathname}`)
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
    })

    it('deletes the session when the scanning side cancels, and the creator learns it on its next write', async () => {
      const { a, b } = await connected()
      await b.cancel(MSC4108FailureReason.UserCancelled)
      expect(journal.entries.at(-1)).toMatchObject({ side: 'B', method: 'DELETE', status: 204 })
      await a.send('MATRIX_QR_CODE_LOGIN_OK')
      expect(journal.entries.at(-1)).toMatchObject({ side: 'A', method: 'PUT', status: 404 })
      expect(a.cancelled).toBe(true)
      expect(failures).toEqual({ A: [ClientRendezvousFailureReason.Unknown], B: [MSC4108FailureReason.UserCancelled] })
    })

    it('establishes the ECIES secure channel and carries the login messages between the js-sdk channels', async () => {
      // G shows the QR code (a new device, intent Login); S scans it with the URL it carries.
      const rzG = sideA()
      await rzG.send('')
      const channelG = new MSC4108SecureChannel(rzG, undefined, (reason) => failures.A.push(reason))
      const qr = wasm.QrCodeData.fromBytes(await channelG.generateCode(wasm.QrCodeIntent.Login))
      expect(qr.rendezvousUrl).toBe(rzG.url)
      const rzS = sideB(qr.rendezvousUrl as string)
      const channelS = new MSC4108SecureChannel(rzS, qr.publicKey, (reason) => failures.B.push(reason))

      await Promise.all([channelG.connect(), channelS.connect()])
      expect(channelG.getCheckCode()).toMatch(/^\d{2}$/)
      expect(channelS.getCheckCode()).toBe(channelG.getCheckCode())

      const messages: Array<['G' | 'S', MSC4108Payload & Record<string, unknown>]> = [
        ['S', { type: PayloadType.Protocols, protocols: [GRANT], homeserver: HOMESERVER }],
        [
          'G',
          {
            type: PayloadType.Protocol,
            protocol: GRANT,
            device_authorization_grant: {
              verification_uri: 'https://auth.m.example/link',
              verification_uri_complete: 'https://auth.m.example/link?c=1',
            },
            device_id: 'ABCDEFGHIJ',
          },
        ],
        ['S', { type: PayloadType.ProtocolAccepted }],
        ['G', { type: PayloadType.Success }],
      ]
      for (const [from, message] of messages) {
        const [sender, receiver] = from === 'G' ? [channelG, channelS] : [channelS, channelG]
        await sender.secureSend(message)
        expect(await receiver.secureReceive()).toEqual(message)
      }
      await channelG.close()
      expect(failures).toEqual({ A: [], B: [] })
      expect(journal.entries.filter((e) => e.status >= 400)).toEqual([])
    })
  })
}
