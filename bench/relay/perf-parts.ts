/**
 * Where the servers' CPU goes per request, from a `perf record -g -e cpu-clock` file of `scaling.ts`
 * (BENCH_PERF_RECORD): each sample's stack is put in the first part whose marker it holds, and each
 * part's CPU is divided by the 2xx responses of the round. The parts single out the work done once per
 * event-loop turn (the flush of the turn's Redis commands, the wait in `epoll_pwait`, reading Redis'
 * replies) from the rest, so configurations that serve fewer requests per turn can be compared part by
 * part. Rough by nature: the stacks of optimised JavaScript are named through `--perf-basic-prof`.
 */
import { spawn } from 'node:child_process'

/** A part of a request's CPU and whether a sample's stack (its frames, innermost first) belongs to it. */
const PARTS: readonly (readonly [string, (stack: string) => boolean])[] = [
  // Only for the threads other than the main ones (placed by thread, not by stack).
  ['other threads (JIT compilers, GC helpers)', () => false],
  // The turn's Redis commands leave in one writev from the check phase (`setImmediate` uncorks the socket);
  // native frames mark it: a JIT address reused by later code can carry a stale JavaScript name.
  ['Redis flush: waking redis-server', (s) => s.includes('CheckImmediate') && s.includes('sock_def_readable')],
  ['Redis flush: the rest (JS, writev, TCP send)', (s) => s.includes('CheckImmediate')],
  ['waiting: epoll_pwait, the switch away and back', (s) => s.includes('epoll_pwait')],
  ['Redis replies: read and parse (ioredis)', (s) => /DataHandler|onReply/.test(s)],
  ['answers: waking the client', (s) => s.includes('sock_def_readable')],
  ['garbage collection (main thread)', (s) => /Scavenge|MarkCompact|CollectGarbage|Heap::|Sweeper/.test(s)],
  ['the rest of the requests: kernel', (s) => s.includes('[kernel')],
  ['the rest of the requests: user', () => true],
]

/**
 * CPU µs per request of each part in `text`, the output of `perf script -F tid,period,ip,sym,dso` (one
 * sample per paragraph: the thread id and the period in ns, then the frames) of the servers whose main
 * threads are `mainPids`, for `requests` 2xx responses; `total` is every part together.
 */
export const partsOfScript = (text: string, mainPids: readonly number[], requests: number): Record<string, number> => {
  const main = new Set(mainPids)
  const parts: Record<string, number> = Object.fromEntries(PARTS.map(([name]) => [name, 0]))
  let total = 0
  for (const sample of text.split('\n\n')) {
    const newline = sample.indexOf('\n')
    const head = (newline === -1 ? sample : sample.slice(0, newline)).trim().split(/\s+/)
    const tid = Number(head[0])
    const ns = Number(head[1])
    if (head.length < 2 || !Number.isFinite(tid) || !Number.isFinite(ns)) continue
    total += ns
    const stack = newline === -1 ? '' : sample.slice(newline)
    const part = main.has(tid) ? PARTS.find(([, holds], i) => i > 0 && holds(stack)) : PARTS[0]
    parts[part![0]]! += ns
  }
  const perRequest = (ns: number): number => ns / 1000 / requests
  return { ...Object.fromEntries(Object.entries(parts).map(([name, ns]) => [name, perRequest(ns)])), total: perRequest(total) }
}

/** {@link partsOfScript} of a `perf record -g` file, or undefined when perf cannot read it. */
export const perfParts = async (
  file: string,
  mainPids: readonly number[],
  requests: number,
): Promise<Record<string, number> | undefined> => {
  const perf = spawn(process.env.BENCH_PERF ?? 'perf', ['script', '-i', file, '-F', 'tid,period,ip,sym,dso'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  let text = ''
  perf.stdout.setEncoding('utf8')
  perf.stdout.on('data', (chunk: string) => {
    text += chunk
  })
  const code = await new Promise<number | null>((resolve) => {
    perf.once('error', () => resolve(null))
    perf.once('close', resolve)
  })
  return code === 0 ? partsOfScript(text, mainPids, requests) : undefined
}
