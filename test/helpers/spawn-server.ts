/**
 * qrelay as a real child process, started the way operators start it (`node --import tsx
 * src/runtime/node.ts`) in a process group of its own, for tests that need several processes or the
 * process entry itself (config refusal, signals). Every wait is bounded; a group left behind by a
 * crashed test run is killed when the test process exits.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { checkedFetch } from './served-check.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = 'src/runtime/node.ts'

/** How a process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A running qrelay process. */
export interface SpawnedServer {
  url: string
  pid: number
  /** `fetch(url + path)`, the answer checked against the OpenAPI document (`served-check.ts`). */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** Every stdout and stderr line so far, in arrival order. */
  logs(): string[]
  /** The stderr lines so far. */
  stderr(): string[]
  /** SIGTERM to the process group, SIGKILL past `stopTimeoutMs`; resolves once it exited and its output is read. */
  stop(): Promise<Exit>
}

/** Time limits of {@link spawnServer}. */
export interface SpawnOptions {
  startTimeoutMs?: number
  stopTimeoutMs?: number
}

/** Thrown when the process exits (or stays silent) before logging `listening`. */
export class ServerStartError extends Error {
  readonly exit: Exit | null
  readonly stdout: readonly string[]
  readonly stderr: readonly string[]
  constructor(message: string, exit: Exit | null, stdout: readonly string[], stderr: readonly string[]) {
    super(`${message}\nstderr:\n${stderr.join('\n')}`)
    this.name = 'ServerStartError'
    this.exit = exit
    this.stdout = stdout
    this.stderr = stderr
  }
}

const liveGroups = new Set<number>()
let exitHookInstalled = false
const killGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone
  }
}
const installExitHook = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL')
  })
}

/** Resolves with `promise`, or with `fallback` after `ms`. */
const within = <T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The environment a child inherits: ours without any QRELAY_* setting, so only the test's own apply. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('QRELAY_')) env[name] = value
  }
  return env
}

/**
 * Starts qrelay with `env` on a free loopback port and waits for its `listening` log line.
 * Errors: {@link ServerStartError} when it exits first or does not listen within `startTimeoutMs`
 * (the process group is then killed).
 *
 * @example
 * const server = await spawnServer({ QRELAY_STORE: 'redis', QRELAY_REDIS_URL: url })
 * await fetch(`${server.url}/readyz`)
 * await server.stop()
 */
export const spawnServer = async (env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<SpawnedServer> => {
  const { startTimeoutMs = 15_000, stopTimeoutMs = 15_000 } = options
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...baseEnv(), QRELAY_PORT: '0', QRELAY_HOST: '127.0.0.1', ...env },
  })
  const pid = child.pid
  if (pid === undefined) {
    const error = await new Promise<unknown>((resolve) => child.once('error', resolve))
    throw new ServerStartError(`could not spawn node: ${String(error)}`, null, [], [])
  }
  installExitHook()
  liveGroups.add(pid)

  const all: string[] = []
  const out: string[] = []
  const err: string[] = []
  let onListening: (url: string) => void = () => {}
  const listening = new Promise<string>((resolve) => {
    onListening = resolve
  })
  createInterface({ input: child.stdout }).on('line', (line) => {
    all.push(line)
    out.push(line)
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown }
      if (entry.msg === 'listening' && typeof entry.url === 'string') onListening(entry.url)
    } catch {
      // not a JSON log line: kept as it is
    }
  })
  createInterface({ input: child.stderr }).on('line', (line) => {
    all.push(line)
    err.push(line)
  })
  // 'close' comes after both the exit and the end of its output, so every line is in by then.
  let gone = false
  const closed = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      gone = true
      liveGroups.delete(pid)
      resolve({ code, signal })
    })
  })

  // Signals go out once, and never after the exit: the group id could belong to someone else by then.
  let stopping: Promise<Exit> | undefined
  const stop = (): Promise<Exit> => {
    stopping ??= (async () => {
      if (gone) return closed
      killGroup(pid, 'SIGTERM')
      const exit = await within(closed, stopTimeoutMs, null)
      if (exit !== null) return exit
      killGroup(pid, 'SIGKILL')
      return within(closed, 5_000, { code: null, signal: 'SIGKILL' })
    })()
    return stopping
  }

  const first = await within<{ url: string } | { exit: Exit } | null>(
    Promise.race([listening.then((url) => ({ url })), closed.then((exit) => ({ exit }))]),
    startTimeoutMs,
    null,
  )
  if (first === null || 'exit' in first) {
    const exit = first === null ? await stop() : first.exit
    const why = first === null ? `did not log "listening" within ${startTimeoutMs} ms` : 'exited before listening'
    throw new ServerStartError(`qrelay ${why} (code ${exit.code}, signal ${exit.signal})`, exit, [...out], [...err])
  }
  const { url } = first
  return { url, pid, fetch: (path, init) => checkedFetch(`${url}${path}`, init), logs: () => [...all], stderr: () => [...err], stop }
}
