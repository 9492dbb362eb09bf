/**
 * A WebSocket's caller on Workers is the same as an HTTP request's: its network (CF-Connecting-IP) and
 * its autonomous system (`request.cf.asn`), which the Worker hands to the channel object with the
 * upgrade. Without the ASN, the abuse rules keyed by it held over HTTP only (finding 29).
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

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
