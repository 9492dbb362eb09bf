/**
 * Reading a server's memory from outside, for the memory and soak benchmarks: resident set size from
 * `/proc/<pid>/status` (Linux), and, for servers preloaded with `bench/ws/memory-probe.ts`, the heap
 * after full collections (SIGUSR2 → one `mem {…}` line on stderr). Plus the least-squares slope the
 * soak reports.
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'

/** Node flags that make a child answer {@link heapOf}. */
export const PROBE_ARGS = ['--expose-gc', '--import', 'tsx', '--import', './bench/ws/memory-probe.ts'] as const

/** VmRSS and VmHWM (peak RSS) of `pid`, in MiB; NaN when /proc is not there. */
export const rssOf = (pid: number): { rssMiB: number; peakMiB: number } => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 }
  } catch {
    return { rssMiB: Number.NaN, peakMiB: Number.NaN }
  }
}

/** Open file descriptors of `pid` (sockets included); NaN when /proc is not there. */
export const fdsOf = (pid: number): number => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return Number.NaN
  }
}

/** Memory a probed server reports after full GCs, in bytes. */
export interface HeapReport {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
}

/** Asks a server started with {@link PROBE_ARGS} for its memory after full GCs (bounded: 30 s). */
export const heapOf = (child: { pid: number; process: ChildProcess }): Promise<HeapReport> =>
  new Promise((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => {
      child.process.stderr?.off('data', onData)
      reject(new Error('no memory report within 30 s'))
    }, 30_000)
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8')
      const match = /^mem (\{.*\})$/m.exec(buffer)
      if (match === null) return
      clearTimeout(timer)
      child.process.stderr?.off('data', onData)
      resolve(JSON.parse(match[1]!) as HeapReport)
    }
    child.process.stderr?.on('data', onData)
    process.kill(child.pid, 'SIGUSR2')
  })

/** Least-squares slope of `ys` over `xs` (same units as y per x); NaN for fewer than two points. */
export const slope = (xs: readonly number[], ys: readonly number[]): number => {
  const n = xs.length
  if (n < 2) return Number.NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? Number.NaN : num / den
}

/** Our environment without any QRELAY_* setting, so only the benchmark's own apply. */
export const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  }
  return env
}

export const MiB = 1024 * 1024
