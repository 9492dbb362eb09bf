/**
 * Opens the configured stores for one CLI command and builds the operator services on them; the
 * security events go to the account feed like the server's.
 */
import { cryptoRandom, systemClock } from '../../adapters/platform/node.ts'
import { parseConfig } from '../../config.ts'
import { accountEvents } from '../../services/account-events.ts'
import { type AccountsService, accountsService } from '../../services/accounts.ts'
import { argon2ParamsOf } from '../../services/auth-services.ts'
import { type OperatorAccounts, operatorAccounts } from '../../services/operator-accounts.ts'
import { type CliStores, openCliStores } from '../cli-store.ts'

/** What a user or device command works with. */
export interface CliContext {
  stores: CliStores
  accounts: AccountsService
  operator: OperatorAccounts
}

/** Runs `work` on freshly opened stores and closes them afterwards. */
export const withStores = async (work: (context: CliContext) => Promise<void>): Promise<void> => {
  const config = parseConfig(process.env)
  const stores = openCliStores(config, systemClock)
  try {
    const events = accountEvents({ security: stores.durable.security })
    const accounts = accountsService({
      durable: stores.durable,
      clock: systemClock,
      random: cryptoRandom,
      argon2: argon2ParamsOf(config.auth),
      passwordPolicy: { minLength: config.auth.passwordMinLength, maxLength: 256 },
      events,
    })
    const operator = operatorAccounts({ accounts, durable: stores.durable, events, clock: systemClock })
    await work({ stores, accounts, operator })
  } finally {
    await stores.close()
  }
}
