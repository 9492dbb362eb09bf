/**
 * Operator CLI entry (`npm run qrelay -- <command>`), on the same configuration, stores and
 * `compose()` as the server. `qrelay --help` lists the commands: `serve`, `config check|show`,
 * `user add|show|list|enable|disable|set-password|reset-2fa`, `device list|revoke`,
 * `network blocks|unblock`, `keys list|rotate|retire`, `events tail` (docs/cli.md).
 *
 * Exit codes: 0 done, 1 refused (weak password, name taken, unknown user, the active key), 2 usage or
 * configuration.
 */
import { runCli } from './cli/main.ts'

await runCli(process.argv.slice(2))
