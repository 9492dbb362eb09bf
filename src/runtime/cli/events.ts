/**
 * `qrelay events tail [--account <user>] [--follow]`: the security events of one account, or of every
 * account, oldest first, as the account feed keeps them. `--follow` polls every `--interval` ms for
 * `--for` seconds at most (Ctrl-C ends it sooner).
 */
import type { Command } from 'commander'
import type { StoredSecurityEvent } from '../../ports.ts'
import { CliExit } from './exit.ts'
import { type CliContext, withStores } from './stores.ts'
import { jsonLine, printable } from './terminal-text.ts'
import { positiveInt, say } from './user.ts'

const PAGE = 500
const MAX_ACCOUNTS = 100_000

interface TailOptions {
  account?: string
  follow?: boolean
  interval: number
  for: number
  json?: boolean
}

/** A line of `events tail` (details name devices as they named themselves: escaped, finding 65). */
const print = (username: string, event: StoredSecurityEvent, json: boolean): void => {
  if (json) {
    say(
      jsonLine({
        user: username,
        id: event.id,
        type: event.type,
        atMs: event.atMs,
        deviceId: event.deviceId,
        details: event.details,
      }),
    )
    return
  }
  const details = Object.entries(event.details ?? {}).map(([k, v]) => `${k}=${String(v)}`)
  const fields = [new Date(event.atMs).toISOString(), username, event.type, event.deviceId ?? '-', ...details]
  say(fields.map(printable).join('\t'))
}

/** The usernames to read: the one asked for, or every account. */
const usernamesOf = async ({ accounts }: CliContext, account: string | undefined): Promise<string[]> => {
  if (account !== undefined) return [(await accounts.operator.show(account)).username]
  const names: string[] = []
  let after: string | null = null
  for (let round = 0; round < MAX_ACCOUNTS / PAGE; round++) {
    const page = await accounts.operator.list(after, PAGE)
    names.push(...page.accounts.map((a) => a.username))
    after = page.next
    if (after === null) break
  }
  return names
}

/** One pass: every account's events after its cursor, printed oldest first; the cursors move on. */
const pass = async (context: CliContext, names: string[], cursors: Map<string, number>, json: boolean): Promise<void> => {
  const found: Array<{ username: string; event: StoredSecurityEvent }> = []
  for (const username of names) {
    const events = await context.accounts.operator.events(username, cursors.get(username) ?? 0, PAGE)
    for (const event of events) found.push({ username, event })
    const last = events.at(-1)
    if (last !== undefined) cursors.set(username, last.id)
  }
  found.sort((a, b) => a.event.atMs - b.event.atMs || a.event.id - b.event.id)
  for (const { username, event } of found) print(username, event, json)
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })

const tail = async (context: CliContext, options: TailOptions): Promise<void> => {
  const names = await usernamesOf(context, options.account)
  const cursors = new Map<string, number>()
  await pass(context, names, cursors, options.json === true)
  if (options.follow !== true) return
  const stop = new AbortController()
  const onInterrupt = (): void => stop.abort()
  process.once('SIGINT', onInterrupt)
  const endsAt = Date.now() + options.for * 1000
  try {
    for (let round = 0; round < 1_000_000 && !stop.signal.aborted && Date.now() < endsAt; round++) {
      await sleep(Math.min(options.interval, Math.max(0, endsAt - Date.now())), stop.signal)
      if (stop.signal.aborted) break
      // New accounts join the tail when no account was named.
      if (options.account === undefined)
        for (const name of await usernamesOf(context, undefined)) if (!names.includes(name)) names.push(name)
      await pass(context, names, cursors, options.json === true)
    }
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

/** Registers `events tail`. */
export const registerEvents = (program: Command): void => {
  const events = program.command('events').description('read the security events of the accounts')
  events
    .command('tail')
    .description('print security events oldest first (password, 2FA, device and operator changes)')
    .option('--account <user>', 'only this account (default: every account)')
    .option('--follow', 'keep polling for new events')
    .option('--interval <ms>', 'poll interval with --follow', positiveInt('--interval', 600_000), 2000)
    .option('--for <seconds>', 'stop following after this long', positiveInt('--for', 86_400), 600)
    .option('--json', 'print JSON lines')
    .action((options: TailOptions) =>
      withStores(async (context) => {
        if (options.interval < 100) throw new CliExit(2, '--interval must be at least 100 ms')
        await tail(context, options)
      }),
    )
}
