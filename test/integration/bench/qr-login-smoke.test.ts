/**
 * The fast version of the QR login benchmark (`bench/qr-login/run.ts --smoke`): two full QR logins
 * (channel, handshake, grant, approval, tokens) per transport and mode against the bare crypto. Only
 * that it runs, every login is approved with tokens and it reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:qr-login smoke', () => {
  smokeTest(
    'completes QR logins over HTTP and WebSocket, one and two at a time, and reports them',
    'bench/qr-login/run.ts',
    60_000,
    ({ stdout }) => {
      expect(stdout).toContain('layout: two processes')
      expect(stdout).toContain('| Measure (two-process) |')
      expect(stdout).toContain('| bare crypto of one login')
      for (const via of ['http', 'websocket']) {
        expect(stdout).toContain(`| full QR login over ${via}, one at a time |`)
        expect(stdout).toContain(`| full QR login over ${via}, 2 at once |`)
      }
    },
  )
})
