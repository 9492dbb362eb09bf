/**
 * The fast version of the WebSocket relay benchmark (`bench/ws/run.ts --smoke`): the bare `ws` relay,
 * qrelay on the memory store and two qrelay processes on a redis-server of its own, every phase once
 * (fixed rate, closed loop, memory per pair), small and short. Only that it runs and reports without
 * errors: its figures mean nothing.
 */
import { describe, expect } from 'vitest'
import { hasTools, smokeTest } from './run-bench.ts'

const hasRedis = hasTools('redis-server')

describe.skipIf(!hasRedis)('bench/ws smoke', () => {
  smokeTest('relays on every target and reports latency, throughput and memory', 'bench/ws/run.ts', 300_000, ({ stdout, stderr }) => {
    for (const heading of ['### Latency at', '### Throughput', '### Memory per open pair']) expect(stdout).toContain(heading)
    for (const target of ['bare `ws` pair relay', 'qrelay, memory store', 'qrelay, Redis']) expect(stdout).toContain(target)
    // Every round line says how many errors it saw: none.
    const rounds = stderr.split('\n').filter((line) => line.startsWith('round '))
    expect(rounds.length).toBe(3)
    for (const line of rounds) expect(line).toMatch(/errors 0\).*\(errors 0\)/)
  })
})
