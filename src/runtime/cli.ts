/**
 * Operator CLI (`npm run qrelay -- <command>`), on the same configuration and stores as the server:
 *
 *   user add <name> [--password-stdin]   create an account (password prompted, or read from stdin)
 *   user disable <name>                  disable an account and sign out all its devices
 *   user list                            list accounts (username, status, 2FA)
 *
 * Exit codes: 0 done, 1 refused (weak password, name taken, unknown user), 2 usage or configuration.
 */
import { createInterface } from 'node:readline'
import { ConfigError, parseConfig } from '../config.ts'
import { RelayError } from '../core/errors.ts'
import { cryptoRandom, systemClock } from '../adapters/platform/node.ts'
import { memorySecurityEvents } from '../adapters/events/memory.ts'
import { accountsService } from '../services/accounts.ts'
import { argon2ParamsOf } from '../services/auth-services.ts'
import { openCliStores } from './cli-store.ts'

const USAGE = `usage: qrelay user add <name> [--password-stdin]
       qrelay user disable <name>
       qrelay user list`

const LIST_MAX = 100_000

/** All of stdin as text, without one trailing newline. */
const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Asks for a password on the terminal without echoing it. */
const prompt = (question: string): Promise<string> =>
  new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
    const muted = rl as unknown as { _writeToOutput: (s: string) => void }
    process.stderr.write(question)
    muted._writeToOutput = () => {}
    rl.question('', (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })

const readPassword = async (fromStdin: boolean): Promise<string> => {
  if (fromStdin) return readStdin()
  if (!process.stdin.isTTY) throw new UsageError('no terminal to prompt on: use --password-stdin')
  const first = await prompt('Password: ')
  const second = await prompt('Repeat password: ')
  if (first !== second) throw new RelayError('INVALID_PARAM', { detail: 'the passwords differ' })
  return first
}

class UsageError extends Error {}

const run = async (args: string[]): Promise<void> => {
  const [group, command, name, ...rest] = args
  if (group !== 'user' || command === undefined) throw new UsageError(USAGE)
  const config = parseConfig(process.env)
  const stores = openCliStores(config, systemClock)
  try {
    const accounts = accountsService({
      durable: stores.durable,
      clock: systemClock,
      random: cryptoRandom,
      argon2: argon2ParamsOf(config.auth),
      passwordPolicy: { minLength: config.auth.passwordMinLength, maxLength: 256 },
      events: memorySecurityEvents(),
    })
    switch (command) {
      case 'add': {
        if (name === undefined || rest.some((a) => a !== '--password-stdin')) throw new UsageError(USAGE)
        const password = await readPassword(rest.includes('--password-stdin'))
        const account = await accounts.create(name, password)
        process.stdout.write(`created ${account.username}\n`)
        return
      }
      case 'disable': {
        if (name === undefined || rest.length > 0) throw new UsageError(USAGE)
        const account = await accounts.disable(name)
        process.stdout.write(`disabled ${account.username}; every device signed out\n`)
        return
      }
      case 'list': {
        if (name !== undefined) throw new UsageError(USAGE)
        for (const username of await stores.usernames(LIST_MAX)) {
          const account = await accounts.findByUsername(username)
          if (account === null) continue
          const twoFactor = account.totp?.confirmedAtMs === undefined ? '-' : 'totp'
          process.stdout.write(`${account.username}\t${account.status}\t${twoFactor}\n`)
        }
        return
      }
      default:
        throw new UsageError(USAGE)
    }
  } finally {
    await stores.close()
  }
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`qrelay: ${error.message}\n`)
      process.exit(2)
    }
    if (error instanceof RelayError && error.code !== 'INTERNAL') {
      process.stderr.write(`qrelay: ${error.detail ?? error.code}\n`)
      process.exit(1)
    }
    process.stderr.write(`qrelay: failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
