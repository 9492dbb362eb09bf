/**
 * `qrelay config check|show`: validates the environment (or an env file) against the typed knob
 * declaration, and prints every effective value with secrets masked.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ConfigError, KNOBS, parseConfig } from '../../config.ts'
import { CliExit } from './exit.ts'

type Env = Record<string, string | undefined>

/** Parses dotenv text: `KEY=VALUE` lines, `#` comments, optional `export`, single or double quotes. */
export const parseEnvFile = (text: string): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (match === null) continue
    const [, key, rest] = match as unknown as [string, string, string]
    const quoted = /^(['"])(.*)\1$/.exec(rest)
    env[key] = quoted === null ? rest.replace(/\s+#.*$/, '') : (quoted[2] as string)
  }
  return env
}

/** Levenshtein distance between two names. */
export const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
    }
    previous = current
  }
  return previous[b.length] as number
}

/** The known variable nearest to `name`, if it is close enough to be a typo. */
export const nearestKnob = (name: string): string | undefined => {
  let best: { env: string; distance: number } | undefined
  for (const knob of KNOBS) {
    const distance = editDistance(name, knob.env)
    if (best === undefined || distance < best.distance) best = { env: knob.env, distance }
  }
  return best !== undefined && best.distance <= Math.max(3, Math.floor(name.length / 4)) ? best.env : undefined
}

const DECLARED_SECRET: ReadonlySet<string> = new Set(KNOBS.filter((knob) => knob.secret).map((knob) => knob.env))

/**
 * Whether a knob holds a secret: declared so (`secret: true` in `src/config/knobs/*.ts`), or named
 * like one (tokens, keys, passwords, secrets), so that a new secret knob is masked even undeclared.
 */
export const isSecretKnob = (env: string): boolean =>
  DECLARED_SECRET.has(env) || (/TOKEN|KEY(S)?$|KEY_|SECRET|PASSWORD|PEPPER|CLIENTS|JWKS/.test(env) && !/PREFIX/.test(env))

/** A query parameter that may hold a secret (`password`, `sentinelPassword`, `token`, `api_key`, `auth`), not `sentinel_auth=same`. */
const SECRET_PARAMETER = /pass|secret|token|key|sig|^auth$/i

/**
 * A value as `config show` prints it: secrets masked; in a URL, the credentials (everything up to the
 * authority's last `@`, as a URL parser reads a password holding an `@`) and the value of any query
 * parameter named like a secret (ioredis takes `?password=` from `QRELAY_REDIS_URL`).
 */
export const maskedValue = (env: string, value: string | undefined): string => {
  if (value === undefined || value === '') return '(unset)'
  if (isSecretKnob(env)) return '****'
  return value
    .replace(/\/\/[^/?#\s]*@/g, '//****@')
    .replace(/([?&;])([^=&#\s]*)=([^&#\s]*)/g, (whole, sep: string, name: string) =>
      SECRET_PARAMETER.test(name) ? `${sep}${name}=****` : whole,
    )
}

const readEnv = (envFile: string | undefined): Env => {
  if (envFile === undefined) return process.env
  try {
    return parseEnvFile(readFileSync(envFile, 'utf8'))
  } catch (error) {
    throw new CliExit(2, `cannot read ${envFile}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** Every problem of `env`, unknown names with a suggestion. */
export const configProblems = (env: Env): string[] => {
  try {
    parseConfig(env)
    return []
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return error.problems.map((problem) => {
      const unknown = /^(QRELAY_[A-Z0-9_]+) is not a qrelay setting$/.exec(problem)
      const suggestion = unknown === null ? undefined : nearestKnob(unknown[1] as string)
      return suggestion === undefined ? problem : `${problem} (did you mean ${suggestion}?)`
    })
  }
}

/** Registers `config check` and `config show`. */
export const registerConfig = (program: Command): void => {
  const config = program.command('config').description('check or show the configuration')
  config
    .command('check')
    .description('list every problem of the configuration; exit 0 if fine, 2 if not')
    .option('--env-file <path>', 'read variables from a dotenv file instead of the environment')
    .action((options: { envFile?: string }) => {
      const problems = configProblems(readEnv(options.envFile))
      if (problems.length === 0) {
        process.stdout.write('configuration ok\n')
        return
      }
      for (const problem of problems) process.stderr.write(`- ${problem}\n`)
      throw new CliExit(2, `${problems.length} problem(s) in the configuration`)
    })
  config
    .command('show')
    .description('print every effective value, secrets masked')
    .option('--env-file <path>', 'read variables from a dotenv file instead of the environment')
    .option('--json', 'print JSON')
    .action((options: { envFile?: string; json?: boolean }) => {
      const env = readEnv(options.envFile)
      const rows = KNOBS.map((knob) => [knob.env, maskedValue(knob.env, env[knob.env] ?? knob.default)] as const)
      if (options.json === true) process.stdout.write(`${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`)
      else for (const [name, value] of rows) process.stdout.write(`${name}=${value}\n`)
    })
}
