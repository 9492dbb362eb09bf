/**
 * The local QR encoder (src/adapters/qr/encode.ts) makes the symbol the `qrcode` package makes of the
 * same byte-mode segment: the same version, the same modules (so the same mask), at every level, for
 * every length up to the largest symbol, and refuses what the package refuses.
 */
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { create } from 'qrcode/lib/core/qrcode.js'
import { describe, expect, it } from 'vitest'
import { versionFor } from '../../../src/adapters/qr/codewords.ts'
import { encodeQr, type QrErrorCorrection } from '../../../src/adapters/qr/encode.ts'

const LEVELS: QrErrorCorrection[] = ['L', 'M', 'Q', 'H']

/** The package's symbol of `bytes` as one byte segment, or null when it throws. */
const reference = (bytes: Uint8Array, level: QrErrorCorrection): { version: number; size: number; modules: Uint8Array } | null => {
  try {
    const symbol = create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: level })
    return { version: symbol.version, size: symbol.modules.size, modules: Uint8Array.from(symbol.modules.data) }
  } catch {
    return null
  }
}

const same = (bytes: Uint8Array, level: QrErrorCorrection): void => {
  expect(encodeQr(bytes, level)).toEqual(reference(bytes, level))
}

// The package's own capacity table (no types of its own).
const load = createRequire(import.meta.url)
const Version = load('qrcode/lib/core/version.js') as { getCapacity(version: number, level: unknown): number }
const ECLevel = load('qrcode/lib/core/error-correction-level.js') as Record<QrErrorCorrection, unknown>

/** The largest byte count of each version 1-40 at `level`, as the package counts it. */
const capacities = (level: QrErrorCorrection): number[] => Array.from({ length: 40 }, (_, i) => Version.getCapacity(i + 1, ECLevel[level]))

describe('encodeQr', () => {
  it('chooses the version the package chooses on both sides of every boundary, at every level', () => {
    for (const [level, name] of LEVELS.entries()) {
      for (const [i, cap] of capacities(name).entries()) {
        expect(versionFor(cap, level)).toBe(i + 1)
        expect(versionFor(cap + 1, level)).toBe(i + 2)
      }
    }
  })

  it('makes the package symbol of a full symbol of every version (at one level of four, rotating)', () => {
    for (let i = 0; i < 40; i++) {
      const level = LEVELS[i % 4] as QrErrorCorrection
      const cap = capacities(level)[i] as number
      same(
        Uint8Array.from({ length: cap }, (_, k) => (k * 73 + i * 7 + 11) & 0xff),
        level,
      )
    }
    for (const level of LEVELS) {
      // One byte past version 40: both refuse.
      const over = new Uint8Array((capacities(level)[39] as number) + 1)
      expect(encodeQr(over, level)).toBeNull()
      expect(reference(over, level)).toBeNull()
    }
  }, 30_000)

  it('makes the package symbol for random payloads at every level (every mask gets chosen)', () => {
    const masks = new Set<number>()
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.constantFrom(...LEVELS), (bytes, level) => {
        same(bytes, level)
        masks.add(create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: level }).maskPattern ?? -1)
      }),
      { numRuns: 300 },
    )
    expect(masks.size).toBe(8)
  }, 60_000)

  it('makes the package symbol of the payloads qrelay encodes: a TOTP key URI, a rendezvous link', () => {
    const text = new TextEncoder()
    same(
      text.encode('otpauth://totp/qrelay:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=qrelay&algorithm=SHA1&digits=6&period=30'),
      'M',
    )
    same(text.encode('https://relay.example/login#c=0123456789abcdefghijklmnopqrstuvwxyz&t=eyJhbGciOiJFZERTQSJ9'), 'Q')
  })

  it('reads a level it does not know as M, as the package does', () => {
    const bytes = new TextEncoder().encode('hello')
    expect(encodeQr(bytes, 'X' as QrErrorCorrection)).toEqual(reference(bytes, 'M'))
  })
})
