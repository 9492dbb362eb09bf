/**
 * The operator CLI's program, built on commander: `serve`, `config`, `user`, `device`, `network`,
 * `keys` and `events` (docs/cli.md). Exit codes: 0 done, 1 refused (unknown user, weak password, the
 * active key, …), 2 usage or configuration (an unknown command gets a suggestion).
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../../config.ts'
import { RelayError } from '../../core/errors.ts'
import { registerConfig } from './config.ts'
import { registerEvents } from './events.ts'
import { CliExit } from './exit.ts'
import { registerKeys } from './keys.ts'
import { registerNetwork } from './network.ts'
import { registerUser } from './user.ts'

/**
 * qrelay's version, from the nearest `package.json` named qrelay above this module: three levels up in
 * the sources (src/runtime/cli/), two in the bundle the package's `bin` runs (dist/runtime/cli.js).
 */
const version = (): string => {
  for (let url = new URL('./', import.meta.url); url.pathname !== '/'; url = new URL('../', url)) {
    let text: string
    try {
      text = readFileSync(new URL('package.json', url), 'utf8')
    } catch {
      continue
    }
    const pkg = JSON.parse(text) as { name?: string; version?: string }
    if (pkg.name === 'qrelay' && typeof pkg.version === 'string') return pkg.version
  }
  return 'unknown'
}

/** The whole program, ready to parse. */
export const buildProgram = (): Command => {
  const program = new Command('qrelay').description('qrelay operator commands').version(version()).exitOverride()
  program
    .command('serve')
    .description('run the relay server (Node)')
    .action(async () => {
      await import('../node.ts')
      await new Promise<never>(() => {})
    })
  registerConfig(program)
  registerUser(program)
  registerNetwork(program)
  registerKeys(program)
  registerEvents(program)
  return program
}

/** The exit code and message for what a command threw. */
export const exitFor = (error: unknown): { code: number; message?: string } => {
  if (error instanceof CommanderError) {
    return { code: error.exitCode === 0 ? 0 : 2 }
  }
  if (error instanceof CliExit) return { code: error.code, message: error.message }
  if (error instanceof ConfigError) return { code: 2, message: error.message }
  if (error instanceof RelayError && error.code !== 'INTERNAL') return { code: 1, message: error.detail ?? error.code }
  return { code: 1, message: `failed: ${error instanceof Error ? error.message : String(error)}` }
}

/** Parses `argv`, runs the command and exits with its code. */
export const runCli = async (argv: string[]): Promise<void> => {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' })
    process.exit(0)
  } catch (error) {
    const { code, message } = exitFor(error)
    if (message !== undefined) process.stderr.write(`qrelay: ${message}\n`)
    process.exit(code)
  }
}
