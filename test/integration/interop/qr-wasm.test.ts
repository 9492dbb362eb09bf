/**
 * Our QR payload codec against the real @matrix-org/matrix-sdk-crypto-wasm 18.9.0 (vodozemac +
 * matrix-sdk-crypto, what Element Web and Element X parse QR codes with), in both directions and for
 * both layouts. Also pins what the wasm refuses today (the MSC text's u8 ID length and the stable
 * `MATRIX` 0x03 prefix), so a wasm upgrade that changes this shows up here.
 *
 * Gotcha: a Curve25519PublicKey passed into a wasm constructor is consumed; make a fresh one each time.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import * as wasm from '@matrix-org/matrix-sdk-crypto-wasm'
import { base64nopad, hex } from '@scure/base'
import { decodeQrPayload, encodeQrPayload, type QrPayload } from '../../../src/core/channel/qr-payload.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import vectors from '../../vectors/qr-payloads.json' with { type: 'json' }

const KEY_B64 = '2IZoarIZe3gOMAqdSiFHSAcA15KfOasxueUUNwJI7Ws'
const BASE = 'https://matrix-client.matrix.org'
const ID = 'e8da6355-550b-4a32-a193-1619d9830668'

const wasmKey = (b64: string): wasm.Curve25519PublicKey => new wasm.Curve25519PublicKey(b64)
const encoded = (payload: QrPayload): Uint8Array => {
  const result = encodeQrPayload(payload)
  if (!result.ok) throw new Error(result.detail)
  return result.value
}
const decoded = (bytes: Uint8Array): QrPayload => {
  const result = decodeQrPayload(bytes)
  if (!result.ok) throw new Error(result.detail)
  return result.value
}

/** A few varied payload fields from a seeded source (keys are any 32 bytes: X25519 accepts them all). */
const samples = (n: number) => {
  const random = seededRandom('qr-wasm')
  const idChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
  return Array.from({ length: n }, (_, i) => {
    const bytes = random.bytes(32 + 64)
    const id = Array.from(bytes.slice(32, 32 + 1 + ((i * 37) % 64)), (b) => idChars[b % idChars.length]).join('')
    return {
      keyB64: base64nopad.encode(bytes.slice(0, 32)),
      id,
      rendezvousUrl: `https://rz${i}.example/_synapse/client/rendezvous/${id}`,
      baseUrl: i % 2 === 0 ? `https://hs${i}.example` : `https://hs${i}.example/matrix/`,
      serverName: i % 3 === 0 ? `hs${i}.example` : `https://hs${i}.example/`,
    }
  })
}

beforeAll(async () => {
  await wasm.initAsync()
})

describe('MSC4108 2024 layout against crypto-wasm', () => {
  it.each(samples(8))('the wasm parses what we encode, both intents ($rendezvousUrl)', ({ keyB64, rendezvousUrl, serverName }) => {
    const publicKey = base64nopad.decode(keyB64)
    const login = wasm.QrCodeData.fromBytes(encoded({ kind: 'msc4108', intent: 'login', publicKey, rendezvousUrl }))
    expect(login.mode).toBe(wasm.QrCodeIntent.Login)
    expect(login.publicKey.toBase64()).toBe(keyB64)
    expect(login.rendezvousUrl).toBe(rendezvousUrl)
    expect(login.serverName).toBeUndefined()

    const recip = wasm.QrCodeData.fromBytes(encoded({ kind: 'msc4108', intent: 'reciprocate', publicKey, rendezvousUrl, serverName }))
    expect(recip.mode).toBe(wasm.QrCodeIntent.Reciprocate)
    expect(recip.intentData.msc4108?.rendezvousUrl).toBe(rendezvousUrl)
    expect(recip.serverName).toBe(serverName)
  })

  it.each(samples(8))('we parse what the wasm encodes, byte for byte ($rendezvousUrl)', ({ keyB64, rendezvousUrl, serverName }) => {
    const publicKey = base64nopad.decode(keyB64)
    const loginBytes = new wasm.QrCodeData(wasmKey(keyB64), rendezvousUrl).toBytes()
    expect(decoded(loginBytes)).toEqual({ kind: 'msc4108', intent: 'login', publicKey, rendezvousUrl })
    expect(encoded(decoded(loginBytes))).toEqual(loginBytes)

    const recipBytes = new wasm.QrCodeData(wasmKey(keyB64), rendezvousUrl, serverName).toBytes()
    expect(decoded(recipBytes)).toEqual({ kind: 'msc4108', intent: 'reciprocate', publicKey, rendezvousUrl, serverName })
    expect(encoded(decoded(recipBytes))).toEqual(recipBytes)
  })

  it('agrees on the rust-sdk vectors', () => {
    for (const c of vectors.cases.filter((v) => v.expect.kind === 'msc4108')) {
      const theirs = wasm.QrCodeData.fromBytes(hex.decode(c.hex))
      expect(theirs.rendezvousUrl).toBe(c.expect.rendezvousUrl)
      expect(theirs.toBytes()).toEqual(hex.decode(c.hex))
    }
  })
})

describe('MSC4388 layout against crypto-wasm', () => {
  it.each(samples(8))('the wasm parses what we encode by default, both intents ($id)', ({ keyB64, id, baseUrl }) => {
    for (const intent of ['login', 'reciprocate'] as const) {
      const theirs = wasm.QrCodeData.fromBytes(
        encoded({ kind: 'msc4388', intent, publicKey: base64nopad.decode(keyB64), rendezvousId: id, baseUrl }),
      )
      expect(theirs.mode).toBe(intent === 'login' ? wasm.QrCodeIntent.Login : wasm.QrCodeIntent.Reciprocate)
      expect(theirs.publicKey.toBase64()).toBe(keyB64)
      expect(theirs.intentData.msc4388?.rendezvousId).toBe(id)
      // The wasm hands out WHATWG-serialized URLs: a root path comes back with its slash.
      expect(theirs.intentData.msc4388?.baseUrl).toBe(new URL(baseUrl).href)
      expect(theirs.intentData.msc4108).toBeUndefined()
    }
  })

  it.each(samples(8))('we parse what the wasm encodes, byte for byte ($id)', ({ keyB64, id, baseUrl }) => {
    for (const intent of [wasm.QrCodeIntent.Login, wasm.QrCodeIntent.Reciprocate]) {
      const bytes = wasm.QrCodeData.newMsc4388(wasmKey(keyB64), id, baseUrl, intent).toBytes()
      const ours = decoded(bytes)
      expect(ours).toMatchObject({
        kind: 'msc4388',
        intent: intent === wasm.QrCodeIntent.Login ? 'login' : 'reciprocate',
        publicKey: base64nopad.decode(keyB64),
        rendezvousId: id,
        prefix: 'unstable',
        idLength: 'u16',
      })
      // rust-sdk drops the trailing slash of a root path and keeps any other path as given.
      expect((ours as { baseUrl: string }).baseUrl).toBe(new URL(baseUrl).pathname === '/' ? new URL(baseUrl).origin : baseUrl)
      expect(encoded(ours)).toEqual(bytes)
    }
  })

  it('writes the shipped vector from the MSC example values', () => {
    const bytes = wasm.QrCodeData.newMsc4388(wasmKey(KEY_B64), ID, `${BASE}/`, wasm.QrCodeIntent.Login).toBytes()
    const shipped = vectors.cases.find((c) => c.name.startsWith('what crypto-wasm'))
    expect(hex.encode(bytes)).toBe(shipped!.hex)
  })

  it('refuses the MSC text forms we also read (u8 ID length; stable MATRIX 0x03): pinned for upgrades', () => {
    const u8Forms = vectors.cases.filter((c) => c.expect.kind === 'msc4388' && (c.expect as { idLength?: string }).idLength === 'u8')
    const stableForms = vectors.cases.filter((c) => c.expect.kind === 'msc4388' && (c.expect as { prefix?: string }).prefix === 'stable')
    expect(u8Forms.length).toBeGreaterThan(0)
    expect(stableForms.length).toBeGreaterThan(0)
    for (const c of [...u8Forms, ...stableForms]) {
      expect(() => wasm.QrCodeData.fromBytes(hex.decode(c.hex)), c.name).toThrow()
      expect(decodeQrPayload(hex.decode(c.hex)).ok, c.name).toBe(true)
    }
  })
})
