/**
 * `qrelay keys list|rotate|retire <kid>`: the channel-ticket signing keys in the store the server uses
 * (the data directory's key file, or `QRELAY_TICKET_SIGNING_JWKS`, which only its own setting changes).
 * A rotation keeps the old key published at `/oauth2/jwks` until it is retired (or its
 * `QRELAY_TICKET_RETIRED_KEY_TTL_SECONDS` pass); running servers read the change within a minute.
 */
import type { Command } from 'commander'
import { cryptoRandom, systemClock } from '../../adapters/platform/node.ts'
import { parseConfig } from '../../config.ts'
import type { OperatorKeys, SigningKeyInfo } from '../../services/operator-keys.ts'
import { say } from './user.ts'

const keysOfConfig = async (): Promise<OperatorKeys> => {
  const [{ configKeyStore }, { fileKeyStore, signingKeyPath }, { operatorKeys }] = await Promise.all([
    import('../../adapters/keys/keystore.ts'),
    import('../../adapters/keys/file-keystore.ts'),
    import('../../services/operator-keys.ts'),
  ])
  const config = parseConfig(process.env)
  const { signingJwks, retiredKeyTtlSeconds } = config.tickets
  const store = signingJwks === undefined ? fileKeyStore(signingKeyPath(config.storage.dataDir)) : configKeyStore(signingJwks)
  return operatorKeys({ store, clock: systemClock, random: cryptoRandom, retiredKeyTtlMs: retiredKeyTtlSeconds * 1000 })
}

const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString())

const line = (key: SigningKeyInfo): string =>
  [key.kid, key.alg, key.state, iso(key.createdAtMs), key.state === 'active' ? '-' : `published until ${iso(key.publishedUntilMs)}`].join(
    '\t',
  )

/** Registers `keys list|rotate|retire`. */
export const registerKeys = (program: Command): void => {
  const keys = program.command('keys').description('list, rotate and retire the channel-ticket signing keys')
  keys
    .command('list')
    .description('every stored key, the active one first (kid, alg, state, created, publication)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await (await keysOfConfig()).list()
      if (options.json === true) say(JSON.stringify(list))
      else for (const key of list) say(line(key))
    })
  keys
    .command('rotate')
    .description('make a new active key; the old one stays published at /oauth2/jwks until retired')
    .action(async () => {
      const { active, previous } = await (await keysOfConfig()).rotate()
      say(`rotated: ${active.kid} signs now; ${previous.kid} stays published until retired (or ${iso(previous.publishedUntilMs)})`)
    })
  keys
    .command('retire <kid>')
    .description('take a rotated-out key off /oauth2/jwks (the active key cannot be retired: rotate first)')
    // A kid is base64url and may begin with '-': it is the operand, not an unknown option.
    .allowUnknownOption()
    .action(async (kid: string) => {
      await (await keysOfConfig()).retire(kid)
      say(`retired ${kid}: no longer published; tickets it signed stop verifying`)
    })
}
