/**
 * The load generator of the relay benchmark, run as its own process (pinned to another core than the
 * server by `run.ts`): one autocannon run of the MSC4388 login cycle against one server, printing one
 * JSON line with the throughput, latency, status counts and this process's own CPU use (to tell when
 * the generator, not the server, is the bottleneck).
 *
 * Each connection repeats the cycle create → PUT → GET → GET → DELETE, carrying the channel id and
 * sequence token from one response to the next request.
 *
 * Run: `node --import tsx bench/relay/load.ts '{"url":"http://127.0.0.1:8080","connections":32,"seconds":10}'`
 */
import autocannon from 'autocannon'

/** The options `run.ts` passes as the one argument (JSON). */
export interface LoadOptions {
  url: string
  /** Several servers sharing one store: the connections are split evenly over them (`url` is then unused). */
  urls?: string[]
  connections: number
  seconds: number
}

/** What this process prints (one JSON line). */
export interface LoadResult {
  /** 2xx responses per second. */
  rps: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  /** Cycles abandoned because a create or PUT answer lacked what the next request needs. */
  resets: number
  statusCodes: Record<string, number>
  latencyP50Ms: number
  latencyP99Ms: number
  seconds: number
  /** CPU time of this process over wall time (1 = one core busy). */
  generatorCpu: number
}

const PREFIX = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
/** About what a login step carries: ~100 bytes of base64 ciphertext. */
const PAYLOAD = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLzAxMjM0NTY3'
const JSON_HEADERS = { 'content-type': 'application/json' }

interface Cycle {
  id?: string
  token?: string
}
type Raw = { method?: string; path?: string; body?: string; headers?: Record<string, string> }

/** Remembers the id and token of a 200 answer; anything else leaves the context without them. */
const remember = (status: number, body: string, context: Cycle): void => {
  if (status !== 200) {
    delete context.id
    return
  }
  const parsed = JSON.parse(body) as { id?: string; sequence_token?: string }
  if (parsed.id !== undefined) context.id = parsed.id
  if (parsed.sequence_token !== undefined) context.token = parsed.sequence_token
}

const onChannel =
  (method: string) =>
  (request: Raw, context: Cycle): Raw | null =>
    context.id === undefined ? null : { ...request, method, path: `${PREFIX}/${context.id}` }

/** The request sequence of one cycle. */
const cycle = () => [
  { method: 'POST', path: PREFIX, headers: JSON_HEADERS, body: '{"data":""}', onResponse: remember },
  {
    method: 'PUT',
    path: PREFIX,
    headers: JSON_HEADERS,
    setupRequest: (request: Raw, context: Cycle): Raw | null =>
      context.id === undefined
        ? null
        : {
            ...request,
            path: `${PREFIX}/${context.id}`,
            body: JSON.stringify({ sequence_token: context.token, data: PAYLOAD }),
          },
    onResponse: remember,
  },
  { method: 'GET', path: PREFIX, setupRequest: onChannel('GET') },
  { method: 'GET', path: PREFIX, setupRequest: onChannel('GET') },
  { method: 'DELETE', path: PREFIX, setupRequest: onChannel('DELETE') },
]

/** Runs one bounded autocannon run against each server, at the same time, and adds them up. */
const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const urls = options.urls ?? [options.url]
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const results = await Promise.all(
    urls.map((url, i) =>
      autocannon({
        url,
        // Split evenly; the first servers take the remainder.
        connections: Math.floor(options.connections / urls.length) + (i < options.connections % urls.length ? 1 : 0),
        duration: options.seconds,
        requests: cycle(),
      }),
    ),
  )
  const cpu = process.cpuUsage(cpuBefore)
  const wallMs = performance.now() - wallBefore
  const statusCodes: Record<string, number> = {}
  for (const result of results) {
    for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {}))
      statusCodes[code] = (statusCodes[code] ?? 0) + Number(count)
  }
  const ok = Object.entries(statusCodes).reduce((n, [code, count]) => (code.startsWith('2') ? n + count : n), 0)
  const duration = Math.max(...results.map((r) => r.duration))
  const sum = (pick: (r: (typeof results)[number]) => number): number => results.reduce((n, r) => n + pick(r), 0)
  return {
    rps: ok / duration,
    requests: sum((r) => r.requests.total),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    resets: sum((r) => r.resets),
    statusCodes,
    // With several servers: the slowest server's percentile (an upper bound of the merged one).
    latencyP50Ms: Math.max(...results.map((r) => r.latency.p50)),
    latencyP99Ms: Math.max(...results.map((r) => r.latency.p99)),
    seconds: duration,
    generatorCpu: (cpu.user + cpu.system) / 1000 / wallMs,
  }
}

runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
