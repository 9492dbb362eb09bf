/**
 * The fast version of the pages benchmark (`bench/pages/qr-login.ts --smoke`): one QR login through the
 * pages in Chromium on each server (WebSocket, and WebSockets off), each ending signed in. Only that it
 * runs and reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { browserAvailable } from '../../pages/browser.ts'
import { smokeTest } from './run-bench.ts'

describe.skipIf(!browserAvailable)('bench:pages smoke', () => {
  smokeTest('signs a browser in through the pages on both servers, and reports both', 'bench/pages/qr-login.ts', 120_000, ({ stdout }) => {
    expect(stdout).toContain('| pages over the WebSocket |')
    expect(stdout).toContain('| pages polling (WebSockets off) |')
    expect(stdout).toContain('WebSocket ÷ polling, whole login:')
  })
})
