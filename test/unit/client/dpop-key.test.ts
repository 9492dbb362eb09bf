import { describe, expect, it } from 'vitest'
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose'
import { generateDpopKey } from '../../../src/client/dpop-key.ts'

describe('generateDpopKey', () => {
  it('states the RFC 7638 thumbprint jose computes of the key its proofs carry (ES256 and EdDSA)', async () => {
    for (const algorithm of ['ES256', 'EdDSA'] as const) {
      const key = await generateDpopKey({ algorithm })
      const { jwk } = decodeProtectedHeader(await key.proof('POST', 'https://relay.example/oauth2/token'))
      expect(key.jkt).toBe(await calculateJwkThumbprint(jwk!, 'sha256'))
      expect(key.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }
  })
})
