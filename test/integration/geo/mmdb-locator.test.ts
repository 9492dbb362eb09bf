/**
 * The Node mmdb locator against real MaxMind DB files (written by the test writer, read by the real
 * `maxmind` reader): facts per address, absent ones left out, bad files refused at startup; and the
 * whole approval using it: a QR code relayed across an ocean is denied.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { GeoDatabaseError, mmdbLocator } from '../../../src/adapters/geo/mmdb.ts'
import { writeMmdb } from '../../helpers/mmdb-writer.ts'

const dir = mkdtempSync(join(tmpdir(), 'qrelay-mmdb-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cityPath = join(dir, 'city.mmdb')
const asnPath = join(dir, 'asn.mmdb')
writeFileSync(
  cityPath,
  writeMmdb('GeoLite2-City', {
    '198.51.100.0/24': { country: { iso_code: 'DE' }, location: { latitude: 52.52, longitude: 13.405 } },
    '203.0.113.0/24': { country: { iso_code: 'US' }, location: { latitude: 40.7128, longitude: -74.006 } },
  }),
)
writeFileSync(
  asnPath,
  writeMmdb('GeoLite2-ASN', {
    '198.51.100.0/24': { autonomous_system_number: 64500 },
    '203.0.113.0/25': { autonomous_system_number: 64501 },
  }),
)

describe('mmdb network locator', () => {
  it('reads coordinates, country and ASN of an address', async () => {
    const locator = mmdbLocator({ cityPath, asnPath })
    const request = new Request('http://localhost/')
    expect(await locator?.locate('198.51.100.7', request)).toEqual({
      asn: 64500,
      country: 'DE',
      geo: { latitude: 52.52, longitude: 13.405 },
    })
    expect(await locator?.locate('203.0.113.200', request)).toEqual({ country: 'US', geo: { latitude: 40.7128, longitude: -74.006 } })
    expect(await locator?.locate('192.0.2.1', request)).toEqual({})
    expect(await locator?.locate('2001:db8::1', request)).toEqual({})
  })

  it('is absent without files and refuses a file that is not a MaxMind DB', () => {
    expect(mmdbLocator({})).toBeUndefined()
    const bad = join(dir, 'bad.mmdb')
    writeFileSync(bad, 'not a database')
    expect(() => mmdbLocator({ cityPath: bad })).toThrow(GeoDatabaseError)
    expect(() => mmdbLocator({ asnPath: join(dir, 'missing.mmdb') })).toThrow(GeoDatabaseError)
  })
})

describe('mmdb locator in a running server', () => {
  it('denies a QR code relayed across an ocean, from the QRELAY_GEO_* files alone', async () => {
    const { startNodeServer } = await import('../../../src/runtime/node-server.ts')
    const { parseConfig } = await import('../../../src/config.ts')
    const { silentLogger } = await import('../../../src/adapters/platform/node.ts')
    const { call, login } = await import('../../helpers/account-client.ts')
    const { dpopHolder } = await import('../../helpers/dpop.ts')
    const { bindingOf, decide, requestGrant } = await import('../../helpers/qr-login.ts')
    const { ADMIN_TOKEN, TEST_ENV } = await import('../accounts/flow-suite.ts')
    const dataDir = mkdtempSync(join(tmpdir(), 'qrelay-geo-server-'))
    const server = await startNodeServer(
      parseConfig({
        ...TEST_ENV,
        QRELAY_PORT: '0',
        QRELAY_DATA_DIR: dataDir,
        QRELAY_LOG_LEVEL: 'silent',
        QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
        QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
        QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
        QRELAY_GEO_CITY_MMDB_PATH: cityPath,
        QRELAY_GEO_ASN_MMDB_PATH: asnPath,
      }),
      { logger: silentLogger },
    )
    try {
      const from = (peer: string) => (path: string, init: RequestInit) =>
        fetch(`${server.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': peer } })
      const berlin = from('198.51.100.20')
      const newYork = from('203.0.113.5')
      expect(
        (await call(berlin, 'POST', '/v1/admin/users', { username: 'alice', password: 'correct horse battery staple' }, ADMIN_TOKEN))
          .status,
      ).toBe(201)
      const phone = await login(berlin, 'alice', 'correct horse battery staple')
      const holder = await dpopHolder()
      const { codes } = await requestGrant(newYork, holder, Date.now(), { channel_binding: bindingOf('G') })
      const context = await call(berlin, 'GET', `/v1/approvals/${codes.user_code}`, undefined, phone.access_token)
      expect(context.body.proximity.relation).toBe('far')
      const res = await decide(berlin, phone.access_token, codes.user_code, {
        decision: 'approve',
        channel_binding: bindingOf('G'),
        dpop_jkt: holder.jkt,
      })
      expect(res).toMatchObject({ status: 403, body: { reason: 'far_away' } })
    } finally {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
