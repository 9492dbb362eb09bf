/**
 * The Markdown tables of the WebSocket benchmark (`run.ts`): medians, ranges and ratios to the bare
 * relay measured in the same run.
 */
import type { LoadResult } from './load.ts'

/** One load run, with the CPU the server process(es) used meanwhile. */
export type Measured = LoadResult & { serverCpuSeconds: number }

/** Memory per open pair of one round. */
export interface MemoryResult {
  pairs: number
  rssPerPair: number
  heapPerPair: number
  externalPerPair: number
  setupMs: number
}

/** The run's settings, as the tables quote them. */
export interface ReportSettings {
  RATE: number
  PAIRS: number
  REPS: number
  SECONDS: number
  MEM_PAIRS: number
  MEM_REPS: number
  /** Target names in order, `bare` first. */
  TARGETS: readonly string[]
  DESCRIPTIONS: Record<string, string>
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const range = (xs: readonly number[], digits = 0): string => `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`

export const report = (
  settings: ReportSettings,
  rate: Map<string, Measured[]>,
  max: Map<string, Measured[]>,
  mem: Map<string, MemoryResult[]>,
): string => {
  const { RATE, PAIRS, REPS, SECONDS, MEM_PAIRS, MEM_REPS, TARGETS, DESCRIPTIONS } = settings
  const lines: string[] = []
  const bareRate = rate.get('bare')!
  const bareMax = max.get('bare')!
  lines.push(`### Latency at ${fmt(RATE)} msg/s offered (${PAIRS} pairs), ${REPS} rounds × ${SECONDS} s`, '')
  lines.push(
    '| target | p50 ms median (range) | p99 ms median (range) | p99 × bare (median; per round) | p99.9 ms median | delivered msg/s | late sends | errors | server CPU (cores) |',
  )
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const name of TARGETS) {
    const runs = rate.get(name) ?? []
    if (runs.length === 0) continue
    const p99 = runs.map((r) => r.p99Ms)
    const perRound = runs.map((r, i) => r.p99Ms / bareRate[i]!.p99Ms)
    const ratio = name === 'bare' ? '1' : `${fmt(median(p99) / median(bareRate.map((r) => r.p99Ms)), 2)}; ${range(perRound, 2)}`
    lines.push(
      `| ${DESCRIPTIONS[name]} | ${fmt(median(runs.map((r) => r.p50Ms)), 2)} (${range(
        runs.map((r) => r.p50Ms),
        2,
      )}) | ` +
        `${fmt(median(p99), 2)} (${range(p99, 2)}) | ${ratio} | ${fmt(median(runs.map((r) => r.p999Ms)), 1)} | ` +
        `${fmt(median(runs.map((r) => r.msgPerSecond)))} | ${fmt(median(runs.map((r) => r.late)))} | ` +
        `${fmt(runs.reduce((s, r) => s + r.errors, 0))} | ${fmt(median(runs.map((r) => r.serverCpuSeconds / SECONDS)), 2)} |`,
    )
  }
  lines.push('', `### Throughput, closed-loop ping-pong (${PAIRS} pairs), ${REPS} rounds × ${SECONDS} s`, '')
  lines.push(
    '| target | msg/s median (range) | × bare (median; per round) | msg per server CPU-s (× bare) | server / client CPU (cores) | p50 / p99 ms | errors |',
  )
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  const perCpu = (r: Measured): number => (r.msgPerSecond * SECONDS) / r.serverCpuSeconds
  for (const name of TARGETS) {
    const runs = max.get(name) ?? []
    if (runs.length === 0) continue
    const rps = runs.map((r) => r.msgPerSecond)
    const perRound = runs.map((r, i) => r.msgPerSecond / bareMax[i]!.msgPerSecond)
    const ratio = name === 'bare' ? '1' : `${fmt(median(rps) / median(bareMax.map((r) => r.msgPerSecond)), 2)}; ${range(perRound, 2)}`
    const cpu = median(runs.map(perCpu))
    const cpuRatio = name === 'bare' ? '' : ` (${fmt(cpu / median(bareMax.map(perCpu)), 2)})`
    lines.push(
      `| ${DESCRIPTIONS[name]} | ${fmt(median(rps))} (${range(rps)}) | ${ratio} | ${fmt(cpu)}${cpuRatio} | ` +
        `${fmt(median(runs.map((r) => r.serverCpuSeconds / SECONDS)), 2)} / ${fmt(median(runs.map((r) => r.clientCpuSeconds / SECONDS)), 2)} | ` +
        `${fmt(median(runs.map((r) => r.p50Ms)), 1)} / ${fmt(median(runs.map((r) => r.p99Ms)), 1)} | ${fmt(runs.reduce((s, r) => s + r.errors, 0))} |`,
    )
  }
  if (mem.size > 0) {
    const bare = mem.get('bare') ?? []
    lines.push('', `### Memory per open pair (${fmt(MEM_PAIRS)} pairs, server after full GCs), ${MEM_REPS} rounds`, '')
    lines.push('| target | RSS B/pair median (range) | × bare | heap B/pair median (range) | × bare | external B/pair | setup s |')
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const name of TARGETS) {
      const runs = mem.get(name) ?? []
      if (runs.length === 0) continue
      const rss = runs.map((r) => r.rssPerPair)
      const heap = runs.map((r) => r.heapPerPair)
      const rssRatio = name === 'bare' ? '1' : fmt(median(rss) / median(bare.map((r) => r.rssPerPair)), 2)
      const heapRatio = name === 'bare' ? '1' : fmt(median(heap) / median(bare.map((r) => r.heapPerPair)), 2)
      const label = name === 'redis' ? `${DESCRIPTIONS[name]} (creators' process: 1 socket per pair)` : DESCRIPTIONS[name]
      lines.push(
        `| ${label} | ${fmt(median(rss))} (${range(rss)}) | ${rssRatio} | ${fmt(median(heap))} (${range(heap)}) | ${heapRatio} | ` +
          `${fmt(median(runs.map((r) => r.externalPerPair)))} | ${fmt(median(runs.map((r) => r.setupMs)) / 1000, 1)} |`,
      )
    }
  }
  return lines.join('\n')
}
