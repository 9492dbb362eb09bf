/**
 * Our device SDK against @matrix-org/matrix-sdk-crypto-wasm 18.9.0's `Ecies` (vodozemac, what Element
 * Web and Element X run), relayed through a real server: the wasm as G with our SDK scanning, and
 * our SDK as G with the wasm scanning. Same check code both ways; messages open on the other side.
 *
 * Gotcha: a Curve25519PublicKey passed into a wasm constructor is consumed; make a fresh one each time.
 */
import * as wasm from '@matrix-org/matrix-sdk-crypto-wasm'
import { base64nopad } from '@scure/base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExistingDevice, NewDevice } from '../../../src/client/devices.ts'
import { encodeChannelLink, parseChannelLink } from '../../../src/core/channel/qr-link.ts'
import type { RunningServer } from '../../../src/runtime/node-server.ts'
import { connectorOf, startTestServer, type TransportName } from './harness.ts'

const INITIATE = 'MATRIX_QR_CODE_LOGIN_INITIATE'
const OK = 'MATRIX_QR_CODE_LOGIN_OK'

let server: RunningServer
let stopServer: () => Promise<void>
beforeAll(async () => {
  await wasm.initAsync()
  const started = await startTestServer()
  server = started.server
  stopServer = started.stop
})
afterAll(async () => {
  await stopServer()
})

/** The 2024 check code of a wasm channel, with its leading zero. */
const wasmCheckCode = (channel: wasm.EstablishedEcies): string => String(channel.check_code().to_digit()).padStart(2, '0')

describe.each<TransportName>(['http', 'ws'])('device SDK with the Matrix wasm Ecies over %s', (transport) => {
  it('scans a QR whose key is a wasm Ecies key (the wasm is G)', async () => {
    const connector = connectorOf(transport, server.url)
    const created = await connector.create()
    const ecies = new wasm.Ecies()
    const link = encodeChannelLink(server.url, {
      intent: 'login',
      publicKey: base64nopad.decode(ecies.public_key().toBase64()),
      channelId: created.transport.channelId,
      ticket: created.ticket,
    })
    if (!link.ok) throw new Error(link.detail)
    const scan = await ExistingDevice.scanQr(link.value, { baseUrl: server.url, transport: connectorOf(transport, server.url) })

    const generator = async (): Promise<wasm.EstablishedEcies> => {
      const inbound = ecies.establish_inbound_channel(await created.transport.receive({ timeoutMs: 10_000 }))
      expect(inbound.message).toBe(INITIATE)
      await created.transport.send(inbound.channel.encrypt(OK))
      return inbound.channel
    }
    const [channel] = await Promise.all([generator(), scan.connect({ timeoutMs: 10_000 })])
    expect(scan.checkCode).toBe(wasmCheckCode(channel))

    for (let n = 0; n < 3; n++) {
      const message = { type: 'm.login.protocols', protocols: ['device_authorization_grant'], n }
      const [, received] = await Promise.all([scan.send(message), created.transport.receive({ timeoutMs: 10_000 })])
      expect(JSON.parse(channel.decrypt(received))).toEqual(message)
      const reply = { type: 'm.login.protocol', n }
      const [, got] = await Promise.all([
        created.transport.send(channel.encrypt(JSON.stringify(reply))),
        scan.receive({ timeoutMs: 10_000 }),
      ])
      expect(got).toEqual(reply)
    }
    await scan.close()
    created.transport.disconnect()
  })

  it('shows a QR a wasm Ecies scans (the wasm is S)', async () => {
    const shown = await NewDevice.showQr({ baseUrl: server.url, transport: connectorOf(transport, server.url) })
    const link = parseChannelLink(shown.qrLink, server.url)
    if (!link.ok) throw new Error(link.detail)
    const outbound = new wasm.Ecies().establish_outbound_channel(
      new wasm.Curve25519PublicKey(base64nopad.encode(link.value.publicKey)),
      INITIATE,
    )
    const channel = outbound.channel
    const joined = await connectorOf(transport, server.url).join(link.value.channelId)

    const scanner = async (): Promise<void> => {
      await joined.send(outbound.initial_message)
      expect(channel.decrypt(await joined.receive({ timeoutMs: 10_000 }))).toBe(OK)
    }
    await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scanner()])
    await shown.confirmCheckCode(wasmCheckCode(channel))
    expect(shown.status).toBe('open')

    for (let n = 0; n < 3; n++) {
      const message = { type: 'm.login.protocol', protocol: 'device_authorization_grant', n }
      const [, got] = await Promise.all([joined.send(channel.encrypt(JSON.stringify(message))), shown.receive({ timeoutMs: 10_000 })])
      expect(got).toEqual(message)
      const reply = { type: 'm.login.protocol_accepted', n }
      const [, received] = await Promise.all([shown.send(reply), joined.receive({ timeoutMs: 10_000 })])
      expect(JSON.parse(channel.decrypt(received))).toEqual(reply)
    }
    await shown.close()
    joined.disconnect()
  })
})
