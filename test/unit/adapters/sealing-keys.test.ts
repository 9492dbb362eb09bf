import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fileSealingKeyStore, sealingKeyPath } from '../../../src/adapters/keys/file-sealing-keys.ts'
import { memorySealingKeyStore, openSealingKeyring } from '../../../src/adapters/keys/sealing-keys.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const root = mkdtempSync(join(tmpdir(), 'qrelay-sealing-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('sealing keyring provisioning', () => {
  it('takes the configured keyring over any stored one', async () => {
    const store = memorySealingKeyStore()
    await store.saveIfAbsent(`k1:${'11'.repeat(32)}`)
    const ring = await openSealingKeyring({ configured: `k7:${'77'.repeat(32)}`, store, random: seededRandom(1) })
    expect(ring.keys.map((k) => k.id)).toEqual(['k7'])
  })

  it('generates one key into a 0600 file on first start, and every later start (or racing one) reads it', async () => {
    const dir = join(root, 'data')
    const path = sealingKeyPath(dir)
    const [a, b] = await Promise.all([
      openSealingKeyring({ configured: undefined, store: fileSealingKeyStore(path), random: seededRandom(1) }),
      openSealingKeyring({ configured: undefined, store: fileSealingKeyStore(path), random: seededRandom(2) }),
    ])
    expect(a.keys[0]?.key).toEqual(b.keys[0]?.key)
    expect(a.keys[0]?.id).toBe('k1')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = await openSealingKeyring({ configured: undefined, store: fileSealingKeyStore(path), random: seededRandom(3) })
    expect(again.keys[0]?.key).toEqual(a.keys[0]?.key)
  })

  it('refuses a key file others may read, and a malformed one, without printing it', async () => {
    const path = join(root, 'loose-keys')
    writeFileSync(path, `k1:${'22'.repeat(32)}`, { mode: 0o644 })
    await expect(fileSealingKeyStore(path).load()).rejects.toThrow(/chmod 600/)
    const bad = join(root, 'bad-keys')
    writeFileSync(bad, 'k1:not-hex', { mode: 0o600 })
    const opening = openSealingKeyring({ configured: undefined, store: fileSealingKeyStore(bad), random: seededRandom(1) })
    await expect(opening).rejects.toThrow(/stored secrets keys/)
  })
})
