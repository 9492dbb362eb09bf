/**
 * Process entry for Node (`npm start`): the only place that reads `process.env`. Refuses to start on
 * a bad configuration, listing every problem; stops gracefully on SIGTERM and SIGINT.
 */
import { ConfigError, parseConfig } from '../config.ts'
import { startNodeServer } from './node-server.ts'

const main = async (): Promise<void> => {
  let config
  try {
    config = parseConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`qrelay: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const server = await startNodeServer(config)
  const shutdown = (signal: string): void => {
    process.stderr.write(`qrelay: ${signal}, shutting down\n`)
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error: unknown) => {
  process.stderr.write(`qrelay: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
