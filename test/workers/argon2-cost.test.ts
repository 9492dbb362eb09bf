/**
 * What one argon2id password hash costs inside workerd with the default parameters (m = 19 456 KiB,
 * t = 2, p = 1): pure JS (noble), no WebAssembly. The figure is printed for the README's plan
 * advice; the test only checks that it runs and verifies.
 */
import { describe, expect, it } from 'vitest'
import { webCryptoRandom } from '../../src/adapters/platform/workers.ts'
import { DEFAULT_ARGON2_PARAMS, hashPasswordAsync, verifyPasswordAsync } from '../../src/core/auth/password-hash.ts'

describe('workers: argon2id cost', () => {
  it('hashes and verifies with the default parameters', async () => {
    const started = performance.now()
    const phc = await hashPasswordAsync(webCryptoRandom, 'correct horse battery staple', DEFAULT_ARGON2_PARAMS)
    const hashMs = performance.now() - started
    const verified = await verifyPasswordAsync(phc, 'correct horse battery staple')
    console.info(`workerd argon2id m=19456 t=2: ${hashMs.toFixed(0)} ms per hash (clock may be coarse inside workerd)`)
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(verified.ok).toBe(true)
  }, 60_000)
})
