/**
 * The fuzz loop: generates cases (arbitraries.ts) in seeded batches, sends each one over a raw socket
 * to the target, records the store writes it caused, checks the invariants, asks `/readyz` every
 * `readyEvery` requests, and rebuilds the real state every `refreshEvery` requests. Bounded by a
 * request count and a time budget. A violation is shrunk by fast-check from the failing case.
 */
import fc from 'fast-check'
import { METHODS } from 'node:http'
import { fuzzCase, render, type FuzzCase } from './arbitraries.ts'
import { checkExchange, type Violation } from './invariants.ts'
import { sendRaw, type RawRequest, type RawResponse } from './raw-http.ts'
import { buildState, type FuzzState } from './state.ts'
import { QUIET_MS, QUIET_MS_CUT_SHORT, type FuzzTarget } from './target.ts'

export interface FuzzOptions {
  requests: number
  seed: number
  /** Stop generating new cases past this (the summary says so). */
  timeBudgetMs: number
  refreshEvery?: number
  readyEvery?: number
  /** Shrink violations (off in quick runs to save time). */
  shrink?: boolean
  onProgress?: (done: number) => void
  /** Stops generating new cases (the summary says why): a signal, or the caller's own budget. */
  signal?: AbortSignal
}

export interface FoundViolation extends Violation {
  case: FuzzCase
  /** The rendered request line, for reading. */
  request: string
  /** The exchange just before (status and request line): a late write of it would land here. */
  after?: string
  /** The smallest case fast-check found that still breaks the same invariant. */
  shrunk?: { case: FuzzCase; request: string; detail: string }
}

export interface FuzzSummary {
  requests: number
  seed: number
  elapsedMs: number
  stoppedByTime: boolean
  /** Why the run ended before its request count (`time`, a signal's reason, an error), if it did. */
  stoppedBy?: string
  statuses: Record<string, number>
  families: Record<string, number>
  fiveHundreds: number
  /** Store writes the recorder saw (all statuses): a recorder that sees nothing proves nothing. */
  writesSeen: number
  /** Recorder looks that did not go quiet in time (attribution of their writes uncertain; expected 0). */
  unquiet: number
  /** The slowest exchanges (ms and request line). */
  slowest: Array<{ ms: number; request: string; status: number }>
  /** Every violation counted by kind; `violations` keeps the first `KEPT_PER_KIND` of each (a case may carry megabytes). */
  violationCounts: Record<string, number>
  violations: FoundViolation[]
}

/** Violations kept whole per kind (the rest are counted only), so that a long run's memory stays bounded. */
export const KEPT_PER_KIND = 20

/** A summary before the first request; `runFuzz` fills it in place, so a caller can report it at any time. */
export const emptySummary = (seed: number): FuzzSummary => ({
  requests: 0,
  seed,
  elapsedMs: 0,
  stoppedByTime: false,
  statuses: {},
  families: {},
  fiveHundreds: 0,
  writesSeen: 0,
  unquiet: 0,
  slowest: [],
  violationCounts: {},
  violations: [],
})

/** Counts `v` and keeps it when fewer than `KEPT_PER_KIND` of its kind are kept. */
export const addViolation = (summary: FuzzSummary, v: FoundViolation): void => {
  const count = (summary.violationCounts[v.kind] ?? 0) + 1
  summary.violationCounts[v.kind] = count
  if (count <= KEPT_PER_KIND) summary.violations.push(v)
}

/** The number of violations of every kind. */
export const violationTotal = (s: FuzzSummary): number => Object.values(s.violationCounts).reduce((a, b) => a + b, 0)

/** True when the bytes are not valid HTTP/1.1 (Node's parser may refuse them before the app sees them). */
const isWireMalformed = (request: RawRequest): boolean => {
  // eslint-disable-next-line no-control-regex
  const badValue = /[^\t\x20-\x7e\x80-\xff]/
  // Node's parser knows a fixed list of methods; CONNECT wants authority-form and an 'connect' listener.
  if (!METHODS.includes(request.method) || request.method === 'CONNECT') return true
  if (!/^\/[\x21-\x7e]*$/.test(request.target)) return true
  if (request.headers.some(([, v]) => badValue.test(v) || v.length > 8000)) return true
  if (request.headers.some(([n, v]) => n.toLowerCase() === 'host' && v === '')) return true
  if (request.target.length > 8000) return true
  const f = request.framing
  return (
    f.kind === 'lying-length' || f.kind === 'both' || (f.kind === 'chunked' && f.broken) || (f.kind === 'none' && request.body.length > 0)
  )
}

/** The answer of Node's parser (or the server's own JSON for a parser refusal), not of the app's handler. */
const answeredByParser = (response: RawResponse): boolean =>
  response.status === 400 && (response.body.length === 0 || /"qrelay_code":"MALFORMED_REQUEST"/.test(response.body.toString('utf8')))

/** Renders a case into bytes against the current state. */
export const toRaw = (c: FuzzCase, state: FuzzState): RawRequest => ({
  method: c.method,
  target: render(c.path, state),
  headers: c.headers.map(([n, v]) => [n, render(v, state)] as const),
  body: c.body.kind === 'bytes' ? Uint8Array.from(c.body.bytes) : new TextEncoder().encode(render(c.body.text, state)),
  framing: c.framing,
})

const framingOf = (f: RawRequest['framing']): string =>
  f.kind === 'chunked' ? `chunked${f.broken ? ' broken' : ''}` : f.kind === 'lying-length' ? `lying-length ${f.delta}` : f.kind

const describe = (r: RawRequest): string =>
  `${r.method} ${r.target.slice(0, 200)} [${framingOf(r.framing)}] headers=${JSON.stringify(r.headers.map(([n, v]) => `${n}: ${v.slice(0, 60)}`))} body=${JSON.stringify(Buffer.from(r.body).toString('utf8').slice(0, 200))}`

/** Sends one case and checks it. */
export const exercise = async (
  target: FuzzTarget,
  state: FuzzState,
  c: FuzzCase,
): Promise<{ status: number; violations: Violation[]; request: RawRequest; writes: number; body: string }> => {
  const request = toRaw(c, state)
  await target.recorder.begin()
  const response = await sendRaw(target.port, request)
  const wireMalformed = isWireMalformed(request)
  // An exchange cut short (the parser answered, or the connection closed) may leave its handler running.
  const cutShort = response.status === 0 || response.timedOut || (wireMalformed && answeredByParser(response))
  const writes = await target.recorder.end(cutShort ? QUIET_MS_CUT_SHORT : QUIET_MS)
  const violations = checkExchange({
    method: request.method,
    path: request.target,
    wireMalformed,
    response,
    writes,
  })
  return { status: response.status, violations, request, writes: writes.length, body: response.body.toString('utf8').slice(0, 300) }
}

const ready = async (target: FuzzTarget): Promise<boolean> => {
  try {
    const res = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(5_000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}

/**
 * Fresh state, built again (a new account) when the network failed under it: on a loaded machine
 * fetch may send on a keep-alive connection the server is closing (ECONNRESET), a client's race, not
 * an answer of the server. Three tries; an HTTP failure is thrown at once.
 */
const freshState = async (target: FuzzTarget): Promise<FuzzState> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildState(target.url)
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TypeError && error.message === 'fetch failed')) throw error
    }
  }
}

/** Shrinks `found` with fast-check: the smallest case that still breaks the same invariant on fresh state. */
const shrinkOne = async (target: FuzzTarget, found: FoundViolation): Promise<FoundViolation['shrunk']> => {
  let last: FoundViolation['shrunk']
  const result = await fc.check(
    fc.asyncProperty(fuzzCase, async (c) => {
      const state = await freshState(target)
      await target.recorder.settle()
      const { violations, request } = await exercise(target, state, c)
      const same = violations.find((v) => v.kind === found.kind)
      if (same !== undefined) last = { case: c, request: describe(request), detail: same.detail }
      return same === undefined
    }),
    { examples: [[found.case]], numRuns: 1, endOnFailure: false, maxSkipsPerRun: 0, interruptAfterTimeLimit: 60_000 },
  )
  return result.failed ? last : undefined
}

/** Runs the fuzzer against `target`. */
export const runFuzz = async (
  target: FuzzTarget,
  options: FuzzOptions,
  summary: FuzzSummary = emptySummary(options.seed),
): Promise<FuzzSummary> => {
  const started = Date.now()
  const refreshEvery = options.refreshEvery ?? 100
  const readyEvery = options.readyEvery ?? 100
  let state = await freshState(target)
  await target.recorder.settle()
  const batch = 500
  let previous = ''
  outer: for (let b = 0; summary.requests < options.requests; b++) {
    const cases = fc.sample(fuzzCase, { numRuns: Math.min(batch, options.requests - summary.requests), seed: options.seed + b })
    for (const c of cases) {
      if (Date.now() - started > options.timeBudgetMs) {
        summary.stoppedByTime = true
        summary.stoppedBy = 'time'
        break outer
      }
      if (options.signal?.aborted === true) {
        summary.stoppedBy = String(options.signal.reason ?? 'aborted')
        break outer
      }
      if (summary.requests > 0 && summary.requests % refreshEvery === 0) {
        state = await freshState(target)
        await target.recorder.settle()
      }
      const t0 = Date.now()
      const { status, violations, request, writes } = await exercise(target, state, c)
      const ms = Date.now() - t0
      if (summary.slowest.length < 5 || ms > (summary.slowest.at(-1)?.ms ?? 0)) {
        summary.slowest = [...summary.slowest, { ms, request: describe(request).slice(0, 160), status }]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 5)
      }
      summary.requests++
      summary.writesSeen += writes
      summary.statuses[String(status)] = (summary.statuses[String(status)] ?? 0) + 1
      summary.families[c.family] = (summary.families[c.family] ?? 0) + 1
      if (status >= 500) summary.fiveHundreds++
      summary.elapsedMs = Date.now() - started
      for (const v of violations) addViolation(summary, { ...v, case: c, request: describe(request), after: previous })
      previous = `${status} ${describe(request).slice(0, 300)}`
      if (summary.requests % readyEvery === 0) {
        if (!(await ready(target)))
          addViolation(summary, {
            kind: 'not-ready',
            detail: `/readyz failed after request ${summary.requests}`,
            case: c,
            request: describe(request),
          })
        options.onProgress?.(summary.requests)
      }
    }
  }
  if (!(await ready(target)))
    addViolation(summary, {
      kind: 'not-ready',
      detail: '/readyz failed at the end',
      case: fc.sample(fuzzCase, 1)[0] as FuzzCase,
      request: '',
    })
  if (options.shrink !== false && options.signal?.aborted !== true) {
    const seen = new Set<string>()
    for (const v of summary.violations) {
      if (seen.has(v.kind) || v.kind === 'not-ready' || v.kind === 'crash') continue
      seen.add(v.kind)
      const shrunk = await shrinkOne(target, v)
      if (shrunk !== undefined) v.shrunk = shrunk
    }
  }
  summary.elapsedMs = Date.now() - started
  summary.unquiet = target.recorder.unquiet
  return summary
}

/** A readable report of `summary`. */
export const formatSummary = (s: FuzzSummary, label: string): string => {
  const lines = [
    `fuzz ${label}: ${s.requests} requests in ${(s.elapsedMs / 1000).toFixed(1)} s (seed ${s.seed}${s.stoppedByTime ? ', stopped by the time budget' : s.stoppedBy === undefined ? '' : `, stopped: ${s.stoppedBy}`})`,
    `statuses: ${Object.entries(s.statuses)
      .sort()
      .map(([k, v]) => `${k}×${v}`)
      .join(' ')}`,
    `families: ${Object.entries(s.families)
      .sort()
      .map(([k, v]) => `${k}×${v}`)
      .join(' ')}`,
    `5xx: ${s.fiveHundreds}   invariant violations: ${violationTotal(s)}   store writes seen: ${s.writesSeen}   recorder looks not quiet: ${s.unquiet}`,
  ]
  lines.push(`slowest: ${s.slowest.map((x) => `${x.ms} ms ${x.status} ${x.request}`).join('\n         ')}`)
  const byKind = new Map<string, FoundViolation[]>()
  for (const v of s.violations) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v])
  for (const [kind, list] of byKind) {
    lines.push(`- ${kind}: ${s.violationCounts[kind] ?? list.length}`)
    for (const v of list.slice(0, 3)) lines.push(`    ${v.detail}\n      ${v.request}`)
    const shrunk = list.find((v) => v.shrunk !== undefined)?.shrunk
    if (shrunk !== undefined)
      lines.push(`    shrunk: ${shrunk.request}\n      → ${shrunk.detail}\n      case: ${JSON.stringify(shrunk.case)}`)
  }
  return lines.join('\n')
}
