/**
 * `qrelay network blocks|unblock <network|asn>`: the abuse guard's denials. They live in the ephemeral
 * store, so the CLI reaches them with `QRELAY_STORE=redis`; with the memory store they are the running
 * server's memory, and the admin API (`GET /v1/admin/abuse/blocks`, `POST /v1/admin/abuse/lift`) is the
 * way in.
 */
import type { Command } from 'commander'
import { sourceKeyOf } from '../../services/abuse-sources.ts'
import { CliExit } from './exit.ts'
import type { CliContext } from './stores.ts'
import { withStores } from './stores.ts'
import { say } from './user.ts'

/** An address, a network key (`2001:db8::/64`) or an ASN (`asn:64500`, `AS64500`). */
const NETWORK = /^(asn:\d{1,10}|[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?)$/

/** The source key of what the operator typed, or exit 2. */
export const networkArgument = (text: string): string => {
  const normalized = /^as\d{1,10}$/i.test(text) ? `asn:${text.slice(2)}` : text
  if (!NETWORK.test(normalized)) throw new CliExit(2, `${text} is not an address, a network (2001:db8::/64) or an ASN (asn:64500)`)
  return sourceKeyOf(normalized)
}

const guardOf = ({ services, stores }: CliContext) => {
  if (!stores.sharedEphemeral) {
    throw new CliExit(
      2,
      'with QRELAY_STORE=memory the blocks live in the running server: use GET /v1/admin/abuse/blocks and POST /v1/admin/abuse/lift',
    )
  }
  if (services.abuse === undefined || services.abuseBlocks === undefined)
    throw new CliExit(2, 'abuse accounting is off (QRELAY_ABUSE_ENABLED)')
  return { abuse: services.abuse, blocks: services.abuseBlocks }
}

/** Registers `network blocks|unblock`. */
export const registerNetwork = (program: Command): void => {
  const network = program.command('network').description('list and lift the network and ASN blocks of the abuse guard')
  network
    .command('blocks')
    .description('every network or ASN denied now, with the reason and how long it stays denied')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withStores(async (context) => {
        const list = await guardOf(context).blocks.list()
        if (options.json === true) say(JSON.stringify(list))
        else if (list.length === 0) say('no network is blocked')
        else for (const b of list) say(`${b.network}\t${b.reason}\t${Math.ceil(b.deniedForMs / 1000)}s left`)
      }),
    )
  network
    .command('unblock <network>')
    .description('lift every block of an address, network or ASN (automatic, "not me", per account)')
    .action((text: string) =>
      withStores(async (context) => {
        const source = networkArgument(text)
        const wasMs = await guardOf(context).abuse.lift(source)
        say(
          wasMs > 0
            ? `unblocked ${source} (it was denied for ${Math.ceil(wasMs / 1000)} more seconds)`
            : `${source} was not blocked for everybody; any per-account "not me" denials of it are lifted`,
        )
      }),
    )
}
