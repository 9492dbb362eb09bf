/**
 * Process entry for Node (`npm start`): the only place that reads `process.env`. Refuses to start on
 * a bad configuration, listing every problem; stops gracefully on SIGTERM and SIGINT; exits 1 on a
 * fault nothing caught, after logging it (`./node-faults.ts`).
 */
import { ConfigError, parseConfig } from '../config.ts'
import { pinoLogger } from '../adapters/platform/node.ts'
import { exitOnUncaughtFaults, sayOnStderr } from './node-faults.ts'
import { startNodeServer } from './node-server.ts'

const main = async (): Promise<void> => {
  let config
  try {
    config = parseConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      sayOnStderr(error.message)
      process.exit(2)
    }
    throw error
  }
  const logger = pinoLogger(config.server.logLevel)
  exitOnUncaughtFaults(logger)
  const server = await startNodeServer(config, { logger })
  const shutdown = (signal: string): void => {
    sayOnStderr(`${signal}, shutting down`)
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error: unknown) => {
  sayOnStderr(`failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
