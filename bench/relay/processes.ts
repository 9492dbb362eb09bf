/**
 * Child processes of the relay benchmark: servers and load runs pinned to a CPU core with `taskset`,
 * each in a process group of its own, every wait bounded, every process stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

/** The repository root: every child runs there. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A child process we started and must stop. */
export interface Child {
  pid: number
  /** The last lines it wrote on stderr (for error messages). */
  stderrTail(): string
  /** SIGTERM to its group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>
}

const live = new Set<number>()
const killGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: already gone
  }
}
process.once('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL')
})
// Children run in process groups of their own, so Ctrl-C does not reach them: exit (and kill them) here.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

let pinning: boolean | undefined
/** Whether `taskset` works here (and there are at least two cores to pin to). */
export const canPin = async (): Promise<boolean> => {
  if (pinning !== undefined) return pinning
  const { availableParallelism } = await import('node:os')
  if (availableParallelism() < 2) return (pinning = false)
  const probe = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
  pinning = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false))
    probe.once('exit', (code) => resolve(code === 0))
  })
  return pinning
}

/** Options of {@link startChild}. */
export interface StartOptions {
  /** CPU core to pin to, when pinning works. */
  core: number
  /** False: not pinned, whether or not pinning works (default true). */
  pin?: boolean
  /** The whole environment of the child (default: ours). */
  env?: Record<string, string | undefined>
  /** Where stdout goes: 'null' (/dev/null, e.g. for logs) or 'pipe' (returned by `collect`). */
  stdout?: 'null' | 'pipe'
}

/** Starts `command args` pinned to `options.core`, in its own process group. */
export const startChild = async (
  command: string,
  args: readonly string[],
  options: StartOptions,
): Promise<Child & { process: ChildProcess }> => {
  const pinned = options.pin !== false && (await canPin())
  const [file, argv] = pinned ? ['taskset', ['-c', String(options.core), command, ...args]] : [command, [...args]]
  const devNull = options.stdout === 'pipe' ? undefined : openSync('/dev/null', 'w')
  const child = spawn(file, argv, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', devNull ?? 'pipe', 'pipe'],
    env: options.env ?? process.env,
  })
  if (devNull !== undefined) closeSync(devNull)
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => resolve())
  })
  const pid = child.pid as number
  live.add(pid)
  let tail = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-2000)
  })
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  }).then(() => void live.delete(pid))
  const stop = async (graceMs = 5000): Promise<void> => {
    killGroup(pid, 'SIGTERM')
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref())
    if ((await Promise.race([exited.then(() => 'done' as const), timer])) === 'late') {
      killGroup(pid, 'SIGKILL')
      await exited
    }
  }
  return { pid, process: child, stderrTail: () => tail, stop }
}

/** Runs a child to completion (bounded by `timeoutMs`) and returns its stdout. */
export const collect = async (command: string, args: readonly string[], options: StartOptions & { timeoutMs: number }): Promise<string> => {
  const child = await startChild(command, args, { ...options, stdout: 'pipe' })
  let out = ''
  child.process.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      void child.stop(1000)
      resolve(null)
    }, options.timeoutMs)
    child.process.once('close', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code ?? 'timeout'}): ${child.stderrTail()}`)
  return out
}

/** A free loopback TCP port (racy by nature, but nothing else here allocates ports). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until `url` answers 200, for at most `timeoutMs`; past that, stops `child` (a server that never
 * became ready is of no use) and throws with the end of its stderr.
 */
export const waitForHttp = async (url: string, timeoutMs: number, child: Child): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not up yet
    }
    await sleep(100)
  }
  const tail = child.stderrTail()
  await child.stop()
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${tail}`)
}

/** Starts `redis-server` on a free loopback port, no persistence, and waits for PING. */
export const startRedis = async (core: number): Promise<{ url: string; child: Child }> => {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning']
  const child = await startChild('redis-server', args, { core })
  const { Redis } = await import('ioredis')
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return { url: `redis://127.0.0.1:${port}`, child }
    } catch {
      // not up yet
    } finally {
      client.disconnect()
    }
    await sleep(50)
  }
  await child.stop()
  throw new Error(`redis-server did not answer PING: ${child.stderrTail()}`)
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export const cpuSeconds = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ')
    // After the command name: utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 Hz).
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}
