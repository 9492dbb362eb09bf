import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    parseConfig(env)
    return []
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
}

describe('webhook configuration', () => {
  it('is off by default, with bounded retry defaults', () => {
    expect(parseConfig({}).webhooks).toEqual({
      url: undefined,
      secret: undefined,
      maxAttempts: 12,
      timeoutMs: 10_000,
      backoffBaseMs: 5000,
      backoffMaxMs: 3_600_000,
      pollIntervalMs: 1000,
    })
  })

  it('reads a URL with its secret', () => {
    const config = parseConfig({ QRELAY_WEBHOOK_URL: 'https://ops.example/hooks/qrelay', QRELAY_WEBHOOK_SECRET: SECRET })
    expect(config.webhooks).toMatchObject({ url: 'https://ops.example/hooks/qrelay', secret: SECRET })
  })

  it('requires the secret with a URL, and refuses bad values without echoing the secret', () => {
    expect(problemsOf({ QRELAY_WEBHOOK_URL: 'https://ops.example/hook' })).toEqual([
      'QRELAY_WEBHOOK_SECRET is required when QRELAY_WEBHOOK_URL is set',
    ])
    const bad = problemsOf({ QRELAY_WEBHOOK_URL: 'ftp://ops.example', QRELAY_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })
    expect(bad).toHaveLength(2)
    expect(bad.join('\n')).not.toContain('c2hvcnQ')
    expect(problemsOf({ QRELAY_WEBHOOK_URL: 'https://user:pw@ops.example/', QRELAY_WEBHOOK_SECRET: SECRET })).toHaveLength(1)
    expect(problemsOf({ QRELAY_WEBHOOK_BACKOFF_BASE_MS: '10000', QRELAY_WEBHOOK_BACKOFF_MAX_MS: '5000' })).toHaveLength(1)
  })
})
