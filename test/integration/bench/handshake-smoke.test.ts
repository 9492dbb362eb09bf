/**
 * The fast version of the handshake benchmark (`bench/handshake/run.ts --smoke`): the in-process
 * handshake against bare X25519, then the SDK flow against a local qrelay over HTTP and WebSocket, one
 * short round. Only that it runs, every flow goes through and it reports: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { smokeTest } from './run-bench.ts'

describe('bench:handshake smoke', () => {
  smokeTest(
    'runs the handshake in process and the SDK flow over both transports without a failed flow',
    'bench/handshake/run.ts',
    60_000,
    ({ stdout }) => {
      expect(stdout).toContain('| **ratio handshake / bare X25519** |')
      expect(stdout).toContain('| HTTP (poll every')
      expect(stdout).toContain('| WebSocket |')
      expect(stdout).not.toContain('failed flows')
    },
  )
})
