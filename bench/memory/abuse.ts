/**
 * The abuse loads of the memory benchmark (`run.ts`), each bounded in count and time and aimed at a
 * loopback server: requests for made-up channel ids, channels created and abandoned (each from its own
 * network, as a botnet would), idle WebSockets on real channels, and slow clients that send part of a
 * request and stall. Each returns the status counts it saw, so the report can tell memory from refusals.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import autocannon from 'autocannon'
import WebSocket from 'ws'

const MSC4388 = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
const MSC4108 = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'
const NATIVE = '/v1/rendezvous'
/** The three channel APIs, in turn. */
const APIS = [MSC4388, MSC4108, NATIVE] as const

/** Status counts of a load. */
export type Statuses = Record<string, number>
const count = (s: Statuses, key: string | number): void => void (s[key] = (s[key] ?? 0) + 1)

/** A made-up channel id, shaped like a real one (22 base64url characters). */
const madeUpId = (): string => randomBytes(16).toString('base64url')

/** A distinct client address per index, each in its own /24 (abuse counters are per network). */
export const addressOf = (i: number): string => `${10 + ((i >>> 16) & 127)}.${(i >>> 8) & 255}.${i & 255}.7`

/**
 * `total` GETs of made-up channel ids over `connections` keep-alive connections from one address,
 * the three APIs in turn (every answer should be a 404 that leaves nothing behind).
 */
export const madeUpIds = async (
  url: string,
  total: number,
  connections: number,
): Promise<{ statuses: Statuses; seconds: number; rps: number }> => {
  let i = 0
  const result = await autocannon({
    url,
    connections,
    amount: total,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, method: 'GET', path: `${APIS[i++ % 3]}/${madeUpId()}` }) }],
  })
  const statuses: Statuses = {}
  for (const [code, { count: n }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = Number(n)
  if (result.errors > 0) statuses.errors = result.errors
  if (result.timeouts > 0) statuses.timeouts = result.timeouts
  return { statuses, seconds: result.duration, rps: result.requests.total / result.duration }
}

/** Runs `task(i)` for i in [0, total) with at most `width` at once. */
const pool = async (total: number, width: number, task: (i: number) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(width, total) }, worker))
}

/** One channel created at `url` through `api`, from `address`; returns the status and the body. */
const createChannel = async (url: string, api: string, address: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${url}${api}`, {
    method: 'POST',
    headers: { 'content-type': api === MSC4108 ? 'text/plain' : 'application/json', 'x-forwarded-for': address },
    body: api === MSC4108 ? 'x' : '{"data":""}',
  })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    // MSC4108 answers 201 with a JSON body too; anything else is counted by status only
  }
  return { status: res.status, body }
}

/** `total` channels created (the three APIs in turn), each from its own network, and abandoned. */
export const abandonedChannels = async (url: string, total: number, width: number): Promise<{ statuses: Statuses; seconds: number }> => {
  const statuses: Statuses = {}
  const t0 = performance.now()
  await pool(total, width, async (i) => {
    try {
      count(statuses, (await createChannel(url, APIS[i % 3]!, addressOf(i))).status)
    } catch {
      count(statuses, 'error')
    }
  })
  return { statuses, seconds: (performance.now() - t0) / 1000 }
}

/** Open sockets to close at the end of a scenario. */
export interface Held {
  statuses: Statuses
  seconds: number
  /** How many of the sockets the server has closed so far. */
  closedByServer(): number
  /** Closes what is still open. */
  release(): void
}

/**
 * `total` native channels, each created from its own network, and a WebSocket on each that says
 * hello with the creator secret, gets its welcome, and then sends nothing (the relay's idle timeout
 * closes it).
 */
export const idleWebSockets = async (url: string, total: number, width: number): Promise<Held> => {
  const statuses: Statuses = {}
  const sockets: WebSocket[] = []
  let closed = 0
  const t0 = performance.now()
  await pool(total, width, async (i) => {
    const address = addressOf(i)
    const created = await createChannel(url, NATIVE, address).catch(() => ({ status: 0, body: {} as Record<string, unknown> }))
    if (created.status !== 200) return count(statuses, `create ${created.status}`)
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${NATIVE}/${created.body.id as string}/ws`, {
      headers: { 'x-forwarded-for': address },
      perMessageDeflate: false,
    })
    sockets.push(ws)
    ws.on('error', () => {})
    ws.once('close', () => void closed++)
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 30_000)
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', secret: created.body.creator_secret })))
      ws.once('message', (data) => {
        clearTimeout(timer)
        resolve((JSON.parse(String(data)) as { type?: string }).type ?? '?')
      })
      ws.once('close', (code) => {
        clearTimeout(timer)
        resolve(`closed ${code}`)
      })
    })
    count(statuses, outcome)
  })
  return {
    statuses,
    seconds: (performance.now() - t0) / 1000,
    closedByServer: () => closed,
    release: () => {
      for (const ws of sockets) ws.terminate()
    },
  }
}

/**
 * `total` sockets that each send the first lines of a request (no blank line: the headers never end)
 * and then stall, the slowloris way.
 */
export const slowClients = async (url: string, total: number, width: number): Promise<Held> => {
  const { hostname, port } = new URL(url)
  const statuses: Statuses = {}
  const sockets: Socket[] = []
  let closed = 0
  const t0 = performance.now()
  await pool(total, width, async (i) => {
    const socket = connect({ host: hostname, port: Number(port) })
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('data', () => {})
    socket.once('close', () => void closed++)
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true))
      socket.once('error', () => resolve(false))
    })
    if (!ok) return count(statuses, 'connect error')
    socket.write(`POST ${MSC4388} HTTP/1.1\r\nHost: ${hostname}\r\nX-Forwarded-For: ${addressOf(i)}\r\nContent-Type: application/json\r\n`)
    count(statuses, 'stalled')
  })
  return {
    statuses,
    seconds: (performance.now() - t0) / 1000,
    closedByServer: () => closed,
    release: () => {
      for (const socket of sockets) socket.destroy()
    },
  }
}
