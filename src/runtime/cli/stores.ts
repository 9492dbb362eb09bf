/**
 * Opens the configured stores for one CLI command and builds the services on them with the same
 * `compose()` as the server: a security event of a CLI command goes to the account's feed and, when
 * `QRELAY_WEBHOOK_URL` is set, into the webhook outbox that the servers' delivery workers drain.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import { cryptoRandom, nodeRedactor, pinoLogger, systemClock } from '../../adapters/platform/node.ts'
import { type Config, parseConfig } from '../../config.ts'
import type { Logger, SecurityEvents } from '../../ports.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { CliStores } from '../cli-store.ts'
import { COMMON_PASSWORDS } from '../../core/auth/common-passwords.ts'

/** What a command works with. */
export interface CliContext {
  config: Config
  stores: CliStores
  services: Services
  /** The account services (always present: the CLI always opens a durable store). */
  accounts: AccountServices
  logger: Logger
}

/** Warnings and errors as JSON lines on stderr; stdout is the command's answer. */
const cliLogger = async (): Promise<Logger> => {
  const { default: pino } = await import('pino')
  return pinoLogger('warn', pino.destination({ dest: 2, sync: true }))
}

/** The webhook sink when the configuration names a webhook URL (delivery is the servers' job). */
const webhookSinks = async (config: Config, stores: CliStores, logger: Logger): Promise<SecurityEvents[]> => {
  if (config.webhooks.url === undefined || config.webhooks.secret === undefined) return []
  const { webhookSecurityEvents } = await import('../../services/webhooks.ts')
  return [webhookSecurityEvents({ outbox: stores.outbox, clock: systemClock, random: cryptoRandom, logger })]
}

/**
 * Builds the services of one CLI command on `stores`.
 *
 * @example
 * const context = await cliContext(parseConfig(process.env), await openCliStores(config, systemClock))
 */
export const cliContext = async (config: Config, stores: CliStores, given?: Logger): Promise<CliContext> => {
  // Loaded here, not at start: `--help`, `--version` and `config` stay quick.
  const [{ compose }, { fileSealingKeyStore, sealingKeyPath }, { openSealingKeyring }] = await Promise.all([
    import('../compose.ts'),
    import('../../adapters/keys/file-sealing-keys.ts'),
    import('../../adapters/keys/sealing-keys.ts'),
  ])
  const logger = given ?? (await cliLogger())
  const random = cryptoRandom
  // The CLI seals nothing new, but the account services need the same keyring as the server.
  const keyring = await openSealingKeyring({
    configured: config.auth.secretsKeys,
    store: fileSealingKeyStore(sealingKeyPath(config.storage.dataDir)),
    random,
  })
  const services = compose(config, {
    store: stores.ephemeral,
    clock: systemClock,
    random,
    logger,
    redact: nodeRedactor(config.server.logHashKeyHex === undefined ? random.bytes(32) : hexToBytes(config.server.logHashKeyHex)),
    accounts: {
      durable: stores.durable,
      // UIA sessions are not started by the CLI; any key does.
      uiaKey: config.auth.uiaKeyHex === undefined ? random.bytes(32) : hexToBytes(config.auth.uiaKeyHex),
      keyring,
      commonPasswords: COMMON_PASSWORDS,
      securityEventSinks: await webhookSinks(config, stores, logger),
    },
  })
  return { config, stores, services, accounts: services.accounts as AccountServices, logger }
}

/** Runs `work` on freshly opened stores (configured by the environment) and closes them afterwards. */
export const withStores = async (work: (context: CliContext) => Promise<void>): Promise<void> => {
  const config = parseConfig(process.env)
  const { openCliStores } = await import('../cli-store.ts')
  const stores = await openCliStores(config, systemClock)
  try {
    await work(await cliContext(config, stores))
  } finally {
    await stores.close()
  }
}
