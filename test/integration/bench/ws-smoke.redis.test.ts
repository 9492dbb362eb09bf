/**
 * The fast version of the WebSocket relay benchmark (`bench/ws/run.ts --smoke`): the bare `ws` relay,
 * qrelay on the memory store and two qrelay processes on a redis-server of its own, every phase once
 * (fixed rate, closed loop, memory per pair), small and short. Only that it runs and reports without
 * errors: its figures mean nothing.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { runSmoke } from './run-bench.ts'

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0

describe.skipIf(!hasRedis)('bench/ws smoke', () => {
  it('relays on every target and reports latency, throughput and memory', { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke('bench/ws/run.ts', 290_000)
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    for (const heading of ['### Latency at', '### Throughput', '### Memory per open pair']) expect(stdout).toContain(heading)
    for (const target of ['bare `ws` pair relay', 'qrelay, memory store', 'qrelay, Redis']) expect(stdout).toContain(target)
    // Every round line says how many errors it saw: none.
    const rounds = stderr.split('\n').filter((line) => line.startsWith('round '))
    expect(rounds.length).toBe(3)
    for (const line of rounds) expect(line).toMatch(/errors 0\).*\(errors 0\)/)
  })
})
