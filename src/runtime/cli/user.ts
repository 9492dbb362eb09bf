/** `qrelay user …` and `qrelay device …`: operator actions on accounts and their devices. */
import type { Command } from 'commander'
import type { AccountRecord } from '../../core/accounts/records.ts'
import { readPassword } from './password.ts'
import { withStores } from './stores.ts'

const LIST_MAX = 100_000

const say = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/** The public facts of an account (never its hash or TOTP secret). */
export const accountSummary = (account: AccountRecord) => ({
  username: account.username,
  status: account.status,
  twoFactor: account.totp?.confirmedAtMs === undefined ? 'none' : 'totp',
  createdAt: new Date(account.createdAtMs).toISOString(),
})

const registerMutations = (user: Command): void => {
  user
    .command('add <name>')
    .description('create an account (password prompted, or read from stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action((name: string, options: { passwordStdin?: boolean }) =>
      withStores(async ({ accounts }) => {
        const account = await accounts.create(name, await readPassword(options.passwordStdin === true))
        say(`created ${account.username}`)
      }),
    )
  user
    .command('enable <name>')
    .description('re-enable a disabled account')
    .action((name: string) => withStores(async ({ operator }) => say(`enabled user ${(await operator.enable(name)).username}`)))
  user
    .command('disable <name>')
    .description('disable an account and sign out all its devices')
    .action((name: string) =>
      withStores(async ({ operator }) => say(`disabled user ${(await operator.disable(name)).username}; every device signed out`)),
    )
  user
    .command('set-password <name>')
    .description('set a new password and sign out every device')
    .option('--password-stdin', 'read the password from stdin')
    .action((name: string, options: { passwordStdin?: boolean }) =>
      withStores(async ({ operator }) => {
        const signedOut = await operator.setPassword(name, await readPassword(options.passwordStdin === true))
        say(`set the password of ${name}; ${signedOut} device(s) signed out`)
      }),
    )
  user
    .command('reset-2fa <name>')
    .description('remove the second factor so the password alone signs in')
    .action((name: string) =>
      withStores(async ({ operator }) => say(`removed the second factor of ${(await operator.resetSecondFactor(name)).username}`)),
    )
}

/** Registers `user add|show|list|enable|disable|set-password|reset-2fa` and `device list|revoke`. */
export const registerUser = (program: Command): void => {
  const user = program.command('user').description('manage accounts')
  registerMutations(user)
  user
    .command('show <name>')
    .option('--json', 'print JSON')
    .action((name: string, options: { json?: boolean }) =>
      withStores(async ({ operator }) => {
        const summary = accountSummary(await operator.show(name))
        if (options.json === true) say(JSON.stringify(summary))
        else for (const [key, value] of Object.entries(summary)) say(`${key}: ${value}`)
      }),
    )
  user
    .command('list')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withStores(async ({ stores, accounts }) => {
        const rows = []
        for (const username of await stores.usernames(LIST_MAX)) {
          const account = await accounts.findByUsername(username)
          if (account !== null) rows.push(accountSummary(account))
        }
        if (options.json === true) say(JSON.stringify(rows))
        else for (const row of rows) say(`${row.username}\t${row.status}\t${row.twoFactor === 'none' ? '-' : row.twoFactor}`)
      }),
    )
  const device = program.command('device').description("manage an account's devices")
  device
    .command('list <user>')
    .option('--json', 'print JSON')
    .action((name: string, options: { json?: boolean }) =>
      withStores(async ({ operator }) => {
        const devices = (await operator.devices(name)).map((d) => ({ id: d.id, name: d.displayName, origin: d.origin }))
        if (options.json === true) say(JSON.stringify(devices))
        else for (const d of devices) say(`${d.id}\t${d.origin}\t${d.name}`)
      }),
    )
  device
    .command('revoke <user> <id>')
    .description('sign one device out')
    .action((name: string, id: string) =>
      withStores(async ({ operator }) => {
        await operator.revokeDevice(name, id)
        say(`revoked device ${id} of ${name}`)
      }),
    )
}
