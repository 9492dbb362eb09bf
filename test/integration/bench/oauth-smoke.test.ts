/**
 * The fast version of the OAuth device-flow benchmark (`bench/oauth/run.ts --smoke`): qrelay and
 * oidc-provider each started once, a few device authorizations and pending polls with DPoP. Only that
 * it runs, every answer is the expected one and it reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:oauth smoke', () => {
  smokeTest('authorizes and polls on qrelay and oidc-provider and reports both endpoints', 'bench/oauth/run.ts', 90_000, ({ stdout }) => {
    expect(stdout).toContain('| POST /oauth2/device_authorization |')
    expect(stdout).toContain('| POST /oauth2/token (authorization_pending) |')
  })
})
