/**
 * The tests that build the repository's dist/ (`npm pack` through `prepack`, the startup benchmark's
 * `scripts/build.ts`) each delete it first and then use what they built. Vitest runs two files at a
 * time (vitest.config.ts): this lock keeps two such builds from overlapping. A lock directory next to
 * the system's temporary files, keyed by the checkout, so that two checkouts never wait on each other;
 * a lock whose holder is gone (a test run killed mid-build) is taken over.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
const LOCK = join(tmpdir(), `qrelay-dist-lock-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`)
const POLL_MS = 200

/** Whether process `pid` still runs. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the lock once: false while another live process holds it. */
const tryTake = (): boolean => {
  try {
    mkdirSync(LOCK)
    writeFileSync(join(LOCK, 'pid'), String(process.pid))
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  let holder = Number.NaN
  try {
    holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'))
  } catch {
    // Just made, its pid not yet written: held.
    return false
  }
  if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(LOCK, { recursive: true, force: true })
  return false
}

/**
 * Runs `fn` while no other test of this checkout builds dist/; waits at most `timeoutMs` for the lock.
 *
 * @example
 * const tarball = await withDistLock(() => execFileSync('npm', ['pack', '--json']), 120_000)
 */
export const withDistLock = async <T>(fn: () => T | Promise<T>, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  while (!tryTake()) {
    if (Date.now() > deadline) throw new Error(`dist/ lock ${LOCK} still held after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  try {
    return await fn()
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}
