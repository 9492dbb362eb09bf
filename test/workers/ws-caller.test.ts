/**
 * A WebSocket's caller on Workers is the same as an HTTP request's: its network (CF-Connecting-IP) and
 * its autonomous system (`request.cf.asn`), which the Worker hands to the channel object with the
 * upgrade. Without the ASN, the abuse rules keyed by it held over HTTP only (finding 29). Its address
 * follows the same rule as an HTTP request's behind a trusted proxy (finding 71): it was always
 * CF-Connecting-IP, so every socket spoke for the proxy, and a serial aborter escaped its own strikes.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseCidr, type Cidr, type ClientAddressRule } from '../../src/core/policy/network.ts'
import { clientIdentities } from '../../src/http/middleware/request-context.ts'
import { callerOfForwarded, forwardWebSocket } from '../../src/runtime/workers-relay.ts'

const ORIGIN = 'https://relay.example'
const CREATOR_IP = '198.51.100.77'
const CREATOR_CF = { asn: 3320 }
/** One carrier: every joiner below comes from another of its networks. */
const CARRIER_CF = { asn: 64_500 }

const create = async (): Promise<Response> =>
  SELF.fetch(`${ORIGIN}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': CREATOR_IP },
    body: JSON.stringify({ data: '' }),
    cf: CREATOR_CF,
  } as RequestInit)

/**
 * Joins channel `id` over a WebSocket from `ip` (on the carrier, whatever ASN the client claims in a
 * header of its own) and aborts it with a check-code mismatch.
 */
const joinAndAccuse = async (id: string, ip: string, claimedAsn: number): Promise<number> => {
  const res = await SELF.fetch(`${ORIGIN}/v1/rendezvous/${id}/ws`, {
    // The header the Worker hands the ASN on, sent by the client itself: ignored.
    headers: { upgrade: 'websocket', 'cf-connecting-ip': ip, 'x-qrelay-client-asn': String(claimedAsn) },
    cf: CARRIER_CF,
  } as RequestInit)
  expect(res.status).toBe(101)
  const ws = res.webSocket as WebSocket
  ws.accept()
  const closed = new Promise<number>((resolve) => ws.addEventListener('close', (event) => resolve(event.code)))
  const welcomed = new Promise<string>((resolve) =>
    ws.addEventListener('message', (event) => resolve(JSON.parse(event.data as string).type)),
  )
  ws.send(JSON.stringify({ type: 'hello' }))
  expect(await welcomed).toBe('welcome')
  ws.send(JSON.stringify({ type: 'abort', reason: 'check_code_mismatch' }))
  return closed
}

describe('finding 29 on Workers: a WebSocket counts against its ASN as HTTP does', () => {
  it("finding 29: five joiners from five networks of one carrier aborting over WebSockets strike the creator once, not five times (an ASN header of the client's own is ignored)", async () => {
    for (let i = 0; i < 5; i++) {
      const created = await create()
      expect(created.status).toBe(200)
      const { id } = (await created.json()) as { id: string }
      expect(await joinAndAccuse(id, `203.0.${100 + i}.9`, 1000 + i)).toBe(1000)
    }
    // One reporting ASN is one reporter: the creator's network is not blocked.
    const after = await create()
    expect(after.status).toBe(200)
  })
})

describe('finding 35: WebSocket upgrades of malformed ids on Workers', () => {
  it('finding 35: answers an upgrade whose id is not valid percent-encoding with the JSON 404 of the app, not an uncaught error', async () => {
    const res = await SELF.fetch(`${ORIGIN}/v1/rendezvous/%E0%A4%A/ws`, {
      headers: { upgrade: 'websocket', 'cf-connecting-ip': '192.0.2.77' },
    })
    // The app's answer to a path it cannot route (as on Node), instead of an uncaught URIError.
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
  })
})

/** The request the Worker hands the channel object for an upgrade with `headers`, forwarded under `rule`. */
const forwardedUnder = async (rule: ClientAddressRule, headers: Record<string, string>, cf?: { asn: number }): Promise<Request> => {
  let handed: Request | undefined
  const env = {
    RELAY_CHANNEL: {
      getByName: () => ({
        fetch: async (request: Request) => {
          handed = request
          return new Response(null, { status: 200 })
        },
      }),
    },
  } as unknown as Env
  const request = new Request(`${ORIGIN}/v1/rendezvous/abc/ws`, {
    headers: { upgrade: 'websocket', ...headers },
    ...(cf === undefined ? {} : { cf }),
  })
  await forwardWebSocket(request, env, 'abc', rule)
  if (handed === undefined) throw new Error('nothing forwarded')
  return handed
}

describe("finding 71: a WebSocket's caller on Workers follows the client-address rule of HTTP requests", () => {
  // A deployment behind a proxy of its own: QRELAY_TRUSTED_PROXY_HEADER and QRELAY_TRUSTED_PROXIES.
  const rule: ClientAddressRule = { header: 'x-forwarded-for', trustedProxies: [parseCidr('198.51.100.0/24') as Cidr] }

  it('finding 71: behind a trusted proxy, the socket speaks for the client the proxy names, as an HTTP request does', async () => {
    const headers = { 'cf-connecting-ip': '198.51.100.5', 'x-forwarded-for': '192.0.2.1, 203.0.113.9' }
    // What the app's request context makes of an HTTP request with the same headers.
    const http = clientIdentities(rule)(headers['cf-connecting-ip'], headers['x-forwarded-for'])
    expect(http.key).toBe('203.0.113.9')
    const caller = callerOfForwarded(await forwardedUnder(rule, headers))
    expect(caller.clientKey).toBe(http.key)
    expect(caller.address).toBe(http.text)
  })

  it("finding 71: a peer that is no trusted proxy is its own client, whatever it claims, and the client's own copy of the Worker's header is dropped", async () => {
    const headers = { 'cf-connecting-ip': '203.0.113.50', 'x-forwarded-for': '192.0.2.1', 'x-qrelay-client-address': '192.0.2.2' }
    expect(callerOfForwarded(await forwardedUnder(rule, headers)).clientKey).toBe('203.0.113.50')
  })
})

describe("finding 77: a WebSocket's ASN on Workers is the client's, never a proxy's", () => {
  const rule: ClientAddressRule = { header: 'x-forwarded-for', trustedProxies: [parseCidr('198.51.100.0/24') as Cidr] }

  it("finding 77: behind a trusted proxy, the socket does not carry the proxy's ASN for the client it names", async () => {
    const headers = { 'cf-connecting-ip': '198.51.100.5', 'x-forwarded-for': '203.0.113.9' }
    const caller = callerOfForwarded(await forwardedUnder(rule, headers, { asn: 64_496 }))
    expect(caller.clientKey).toBe('203.0.113.9')
    expect(caller.asn).toBeUndefined()
  })

  it('finding 77: a client Cloudflare saw itself keeps its ASN', async () => {
    const caller = callerOfForwarded(await forwardedUnder(rule, { 'cf-connecting-ip': '203.0.113.50' }, { asn: 3320 }))
    expect(caller).toMatchObject({ clientKey: '203.0.113.50', asn: 3320 })
  })
})
