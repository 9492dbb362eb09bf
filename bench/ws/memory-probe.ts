/**
 * Preloaded into the servers of the WebSocket benchmark (`node --expose-gc --import tsx --import
 * ./bench/ws/memory-probe.ts …`): on SIGUSR2 it runs full garbage collections and writes one line
 * `mem {"rss":…,"heapUsed":…,…}` on stderr, so the runner can read a server's memory without the
 * server knowing about the benchmark.
 */
const collect = (globalThis as { gc?: () => void }).gc

process.on('SIGUSR2', () => {
  // Several passes: weak references and finalizers free more on the second and third.
  for (let i = 0; i < 3; i++) collect?.()
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  const line = JSON.stringify({ rss, heapUsed, heapTotal, external, arrayBuffers, gc: collect !== undefined })
  process.stderr.write(`mem ${line}\n`)
})
