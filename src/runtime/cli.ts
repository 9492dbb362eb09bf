/**
 * Operator CLI entry (`npm run qrelay -- <command>`), on the same configuration and stores as the
 * server. `qrelay --help` lists the commands: `serve`, `config check|show`,
 * `user add|show|list|enable|disable|set-password|reset-2fa`, `device list|revoke`.
 *
 * Exit codes: 0 done, 1 refused (weak password, name taken, unknown user), 2 usage or configuration.
 */
import { runCli } from './cli/main.ts'

await runCli(process.argv.slice(2))
