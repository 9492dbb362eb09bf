/**
 * `parseConfig`: walks the declaration, parses every `QRELAY_*` variable (or its default), refuses
 * unknown ones, checks the rules between knobs, and reports every problem at once.
 */
import { ConfigError } from './config-error.ts'
import { crossFieldProblem } from './cross-field.ts'
import { DECLARATION, KNOBS, type Config } from './declaration.ts'
import type { ConfigOf, Declaration } from './knob.ts'

/** Environment variables by name, as `process.env` or a Worker's text bindings hold them. */
type Env = Record<string, string | undefined>

/**
 * Parses every knob of `declaration` from `env` (absent: its default), each section a frozen object.
 * The configuration when every knob parsed, else undefined with `problems` appended, in knob order.
 */
const readKnobs = <D extends Declaration>(declaration: D, env: Env, problems: string[]): ConfigOf<D> | undefined => {
  const before = problems.length
  const sections: Record<string, Readonly<Record<string, unknown>>> = {}
  for (const [name, section] of Object.entries(declaration)) {
    const values: Record<string, unknown> = {}
    for (const [field, knob] of Object.entries(section)) {
      const raw = env[knob.env] ?? knob.default
      const parsed = raw === undefined ? { value: undefined } : knob.parse(raw)
      if ('problem' in parsed) problems.push(`${knob.env} ${parsed.problem}`)
      else values[field] = parsed.value
    }
    sections[name] = Object.freeze(values)
  }
  if (problems.length > before) return undefined
  // The one cast of the configuration: TypeScript cannot type an object built key by key from a
  // mapped type. Sound because every field of every section above holds the value its knob's parser
  // made, or undefined for an unset knob without default (whose type includes undefined: see knob.custom).
  return Object.freeze(sections) as ConfigOf<D>
}

/** `QRELAY_*` variables of `env` that no knob reads (a typo would otherwise go unnoticed). */
const unknownVariables = (env: Env): string[] => {
  const known = new Set<string>(KNOBS.map((knob) => knob.env))
  return Object.keys(env).filter((name) => name.startsWith('QRELAY_') && !known.has(name))
}

/**
 * Reads every `QRELAY_*` knob from `env`, applying defaults. Throws {@link ConfigError} listing all
 * problems (unknown `QRELAY_*` variables included) at once.
 *
 * @example
 * const config = parseConfig(process.env)
 */
export const parseConfig = (env: Env): Config => {
  const problems: string[] = []
  const config = readKnobs(DECLARATION, env, problems)
  problems.push(...unknownVariables(env).map((name) => `${name} is not a qrelay setting`))
  const crossField = config === undefined || problems.length > 0 ? undefined : crossFieldProblem(config)
  if (crossField !== undefined) problems.push(crossField)
  if (config === undefined || problems.length > 0) throw new ConfigError(problems)
  return config
}

/** The configuration with every default, for tests and embedders. */
export const defaultConfig = (): Config => parseConfig({})
