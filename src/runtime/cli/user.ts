/** `qrelay user …` and `qrelay device …`: operator actions on accounts and their devices. */
import type { Command } from 'commander'
import type { AccountRecord } from '../../core/accounts/records.ts'
import { CliExit } from './exit.ts'
import { readPassword } from './password.ts'
import { withStores } from './stores.ts'
import { jsonLine, printable } from './terminal-text.ts'

/** Most accounts `user list` prints (pages of the store are fetched until then). */
const LIST_MAX = 100_000
const PAGE = 500

/** Writes one line of the command's answer on stdout. */
export const say = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/** The public facts of an account (never its hash or TOTP secret). */
export const accountSummary = (account: AccountRecord) => ({
  username: account.username,
  status: account.status,
  twoFactor: account.totp?.confirmedAtMs === undefined ? 'none' : 'totp',
  createdAt: new Date(account.createdAtMs).toISOString(),
})

/** A positive integer option, or exit 2. */
export const positiveInt = (name: string, max: number) => (text: string) => {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new CliExit(2, `${name} must be a whole number from 1 to ${max}`)
  return value
}

const registerMutations = (user: Command): void => {
  user
    .command('add <name>')
    .description('create an account (password prompted, or read from stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action((name: string, options: { passwordStdin?: boolean }) =>
      withStores(async ({ accounts }) => {
        const account = await accounts.auth.accounts.create(name, await readPassword(options.passwordStdin === true))
        say(`created ${account.username}`)
      }),
    )
  user
    .command('enable <name>')
    .description('re-enable a disabled account')
    .action((name: string) => withStores(async ({ accounts }) => say(`enabled user ${(await accounts.operator.enable(name)).username}`)))
  user
    .command('disable <name>')
    .description('disable an account and sign out all its devices')
    .action((name: string) =>
      withStores(async ({ accounts }) => say(`disabled user ${(await accounts.operator.disable(name)).username}; every device signed out`)),
    )
  user
    .command('set-password <name>')
    .description('set a new password and sign out every device')
    .option('--password-stdin', 'read the password from stdin')
    .action((name: string, options: { passwordStdin?: boolean }) =>
      withStores(async ({ accounts }) => {
        const signedOut = await accounts.operator.setPassword(name, await readPassword(options.passwordStdin === true))
        say(`set the password of ${name}; ${signedOut} device(s) signed out`)
      }),
    )
  user
    .command('reset-2fa <name>')
    .description('remove the TOTP authenticator AND every recovery code, so the password alone signs in (the user enrols again)')
    .action((name: string) =>
      withStores(async ({ accounts }) => {
        const { account, recoveryCodesRemoved } = await accounts.operator.resetSecondFactor(name)
        say(`removed the second factor of ${account.username} and ${recoveryCodesRemoved} recovery code(s)`)
      }),
    )
}

const registerReads = (user: Command): void => {
  user
    .command('show <name>')
    .description("print an account's status and second factor")
    .option('--json', 'print JSON')
    .action((name: string, options: { json?: boolean }) =>
      withStores(async ({ accounts }) => {
        const summary = accountSummary(await accounts.operator.show(name))
        if (options.json === true) say(jsonLine(summary))
        else for (const [key, value] of Object.entries(summary)) say(`${key}: ${printable(value)}`)
      }),
    )
  user
    .command('list')
    .description('list accounts in username order (name, status, second factor)')
    .option('--limit <n>', 'print at most n accounts', positiveInt('--limit', LIST_MAX), LIST_MAX)
    .option('--json', 'print JSON')
    .action((options: { json?: boolean; limit: number }) =>
      withStores(async ({ accounts }) => {
        const rows = []
        let after: string | null = null
        for (let round = 0; round < Math.ceil(LIST_MAX / PAGE) && rows.length < options.limit; round++) {
          const page = await accounts.operator.list(after, Math.min(PAGE, options.limit - rows.length))
          rows.push(...page.accounts.map(accountSummary))
          after = page.next
          if (after === null) break
        }
        if (options.json === true) say(jsonLine(rows))
        else for (const row of rows) say(`${printable(row.username)}\t${row.status}\t${row.twoFactor === 'none' ? '-' : row.twoFactor}`)
      }),
    )
}

/** Registers `user add|show|list|enable|disable|set-password|reset-2fa` and `device list|revoke`. */
export const registerUser = (program: Command): void => {
  const user = program.command('user').description('manage accounts')
  registerMutations(user)
  registerReads(user)
  const device = program.command('device').description("manage an account's devices")
  device
    .command('list <user>')
    .description("list an account's devices (id, how it signed in, name)")
    .option('--json', 'print JSON')
    .action((name: string, options: { json?: boolean }) =>
      withStores(async ({ accounts }) => {
        const devices = (await accounts.operator.devices(name)).map((d) => ({ id: d.id, name: d.displayName, origin: d.origin }))
        // The name is the device's own choice (finding 65): escaped, as every field.
        if (options.json === true) say(jsonLine(devices))
        else for (const d of devices) say(`${printable(d.id)}\t${printable(d.origin)}\t${printable(d.name)}`)
      }),
    )
  device
    .command('revoke <user> <id>')
    .description('sign one device out (its tokens stop working at once)')
    // A device id may begin with '-': it is an operand, not an unknown option.
    .allowUnknownOption()
    .action((name: string, id: string) =>
      withStores(async ({ accounts }) => {
        await accounts.operator.revokeDevice(name, id)
        say(`revoked device ${id} of ${name}`)
      }),
    )
}
