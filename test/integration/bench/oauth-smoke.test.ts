/**
 * The fast version of the OAuth device-flow benchmark (`bench/oauth/run.ts --smoke`): qrelay and
 * oidc-provider each started once, a few device authorizations and pending polls with DPoP. Only that
 * it runs, every answer is the expected one and it reports: its figures mean nothing.
 */
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

describe('bench:oauth smoke', () => {
  it('authorizes and polls on qrelay and oidc-provider and reports both endpoints', { timeout: 90_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/oauth/run.ts', 85_000)
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    expect(stdout).toContain('| POST /oauth2/device_authorization |')
    expect(stdout).toContain('| POST /oauth2/token (authorization_pending) |')
  })
})
