/**
 * The data-directory keystore on a real filesystem (a temp directory per test): keys survive
 * restarts, the file is 0600 and replaced atomically, concurrent first starts agree on one key set,
 * and a file others can read is refused.
 */
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileKeyStore, signingKeyPath } from '../../../src/adapters/keys/file-keystore.ts'
import { newKeySet } from '../../../src/core/crypto/signing-key-set.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { signChannelTicket, verifyChannelTicket } from '../../../src/services/channel-ticket.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const DAY = 86_400_000
let root: string
let dataDir: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'qrelay-keys-'))
  dataDir = join(root, 'nested', 'data')
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** One "process start": a fresh store object over the same file. */
const start = (seed: number | string, clock = fakeClock()) =>
  openSigningKeys({ store: fileKeyStore(signingKeyPath(dataDir)), clock, random: seededRandom(seed), retiredKeyTtlMs: DAY })

describe('fileKeyStore', () => {
  it('creates the data directory and a 0600 key file on first start', async () => {
    await start(1)
    const info = await stat(signingKeyPath(dataDir))
    expect(info.mode & 0o777).toBe(0o600)
    expect(await readdir(dataDir)).toEqual(['signing-keys.json'])
  })

  it('gives a restarted process the same keys, so its tickets still verify', async () => {
    const clock = fakeClock()
    const first = await start(1, clock)
    const ticket = await signChannelTicket(first, {
      issuer: 'https://relay.example',
      channelId: 'abc',
      issuedAtMs: clock.now(),
      expiresAtMs: clock.now() + 60_000,
    })
    const second = await start(2, clock)
    expect(second.current().kid).toBe(first.current().kid)
    expect(second.publicJwks()).toEqual(first.publicJwks())
    await expect(verifyChannelTicket(ticket, second.publicJwks(), clock.now(), { issuer: 'https://relay.example' })).resolves.toBeDefined()
  })

  it('persists a rotation: after a restart the new key signs and the old one is still published', async () => {
    const clock = fakeClock()
    const keys = await start(1, clock)
    const old = keys.current().kid
    await keys.rotate()
    const restarted = await start(3, clock)
    expect(restarted.current().kid).toBe(keys.current().kid)
    expect(restarted.publicJwks().keys.map((k) => k.kid)).toEqual([keys.current().kid, old])
    expect((await stat(signingKeyPath(dataDir))).mode & 0o777).toBe(0o600)
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('lets concurrent first starts agree on one key set', async () => {
    const path = signingKeyPath(dataDir)
    const sets = [1, 2, 3, 4].map((seed) => newKeySet(seededRandom(seed), 0))
    const stored = await Promise.all(sets.map((set) => fileKeyStore(path).saveIfAbsent(set)))
    const kids = new Set(stored.map((s) => s.keys[0]!.kid))
    expect(kids.size).toBe(1)
    expect((await fileKeyStore(path).load())?.keys[0]?.kid).toBe([...kids][0])
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('refuses a key file that group or others can read', async () => {
    await start(1)
    await chmod(signingKeyPath(dataDir), 0o644)
    await expect(start(1)).rejects.toThrow(/chmod 600/)
  })

  it('refuses a corrupt key file without printing its content', async () => {
    await start(1)
    const path = signingKeyPath(dataDir)
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.replace('"version": 1', '"version": 7'), { mode: 0o600 })
    const error = await start(1).then(
      () => null,
      (e: Error) => e,
    )
    expect(error?.message).toContain(path)
    const d = JSON.parse(text).keys[0].jwk.d as string
    expect(error?.message).not.toContain(d)
  })

  it('keeps the private key out of what the store and keyring print', async () => {
    const keys = await start(1)
    const d = JSON.parse(await readFile(signingKeyPath(dataDir), 'utf8')).keys[0].jwk.d as string
    const store = fileKeyStore(signingKeyPath(dataDir))
    for (const text of [JSON.stringify(keys), inspect(keys), JSON.stringify(store), JSON.stringify(keys.publicJwks())]) {
      expect(text).not.toContain(d)
    }
  })
})
