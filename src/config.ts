/**
 * All of qrelay's configuration: one typed declaration of knobs (`src/config/knobs/*`), each with its
 * environment variable, default and unit (in the name), its doc line in `config/knob-docs.ts`; the {@link Config} type is
 * inferred from it. `parseConfig(env)` reports every bad value at once.
 * Only `src/runtime/*` calls it; services receive the slices they need.
 */
export { ConfigError } from './config/config-error.ts'
export { KNOBS, type Config } from './config/declaration.ts'
export type { Knob } from './config/knob.ts'
export { isLoopbackHost } from './config/loopback-host.ts'
export { defaultConfig, parseConfig } from './config/parse.ts'
export { configTable } from './config/table.ts'
