/**
 * `qrelay network blocks|unblock <network|asn>`: the abuse guard's denials. They live in the ephemeral
 * store: with `QRELAY_STORE=redis` the CLI reads and lifts them there; with the memory store they are
 * the running server's memory, so the CLI asks that server through its admin API
 * (`GET /v1/admin/abuse/blocks`, `POST /v1/admin/abuse/lift`, see ./admin-client.ts).
 */
import type { Command } from 'commander'
import { parseConfig } from '../../config.ts'
import type { AbuseBlock } from '../../services/abuse-blocks.ts'
import { sourceKeyOf } from '../../services/abuse-sources.ts'
import { adminCall } from './admin-client.ts'
import { CliExit } from './exit.ts'
import { type CliContext, withStores } from './stores.ts'
import { say } from './user.ts'

/** An address, a network key (`2001:db8::/64`) or an ASN (`asn:64500`, `AS64500`). */
const NETWORK = /^(asn:\d{1,10}|[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?)$/

/** The source key of what the operator typed, or exit 2. */
export const networkArgument = (text: string): string => {
  const normalized = /^as\d{1,10}$/i.test(text) ? `asn:${text.slice(2)}` : text
  if (!NETWORK.test(normalized)) throw new CliExit(2, `${text} is not an address, a network (2001:db8::/64) or an ASN (asn:64500)`)
  return sourceKeyOf(normalized)
}

const guardOf = ({ services }: CliContext) => {
  if (services.abuse === undefined || services.abuseBlocks === undefined)
    throw new CliExit(2, 'abuse accounting is off (QRELAY_ABUSE_ENABLED)')
  return { abuse: services.abuse, blocks: services.abuseBlocks }
}

/** A block as `GET /v1/admin/abuse/blocks` answers it. */
interface WireBlock {
  network: string
  reason: string
  denied_for_seconds: number
}

/** The blocks, from Redis or from the running server. */
const listBlocks = async (server: string | undefined): Promise<AbuseBlock[]> => {
  const config = parseConfig(process.env)
  if (config.storage.kind !== 'redis') {
    const { blocks } = (await adminCall(config, server, 'GET', '/v1/admin/abuse/blocks')) as { blocks: WireBlock[] }
    return blocks.map((b) => ({ network: b.network, reason: b.reason, deniedForMs: b.denied_for_seconds * 1000 }))
  }
  let list: AbuseBlock[] = []
  await withStores(async (context) => {
    list = await guardOf(context).blocks.list()
  })
  return list
}

/** Lifts the blocks of `source`; how long it was still denied, in ms. */
const lift = async (source: string, server: string | undefined): Promise<number> => {
  const config = parseConfig(process.env)
  if (config.storage.kind !== 'redis') {
    const answer = await adminCall(config, server, 'POST', '/v1/admin/abuse/lift', { network: source })
    return Number(answer.was_denied_for_seconds) * 1000
  }
  let wasMs = 0
  await withStores(async (context) => {
    wasMs = await guardOf(context).abuse.lift(source)
  })
  return wasMs
}

const SERVER_OPTION = ['--server <origin>', 'with the memory store: the running server to ask (default: QRELAY_HOST:QRELAY_PORT)'] as const

/** Registers `network blocks|unblock`. */
export const registerNetwork = (program: Command): void => {
  const network = program.command('network').description('list and lift the network and ASN blocks of the abuse guard')
  network
    .command('blocks')
    .description('every network or ASN denied now, with the reason and how long it stays denied')
    .option('--json', 'print JSON')
    .option(...SERVER_OPTION)
    .action(async (options: { json?: boolean; server?: string }) => {
      const list = await listBlocks(options.server)
      if (options.json === true) say(JSON.stringify(list))
      else if (list.length === 0) say('no network is blocked')
      else for (const b of list) say(`${b.network}\t${b.reason}\t${Math.ceil(b.deniedForMs / 1000)}s left`)
    })
  network
    .command('unblock <network>')
    .description('lift every block of an address, network or ASN (automatic, "not me", per account)')
    .option(...SERVER_OPTION)
    .action(async (text: string, options: { server?: string }) => {
      const source = networkArgument(text)
      const wasMs = await lift(source, options.server)
      say(
        wasMs > 0
          ? `unblocked ${source} (it was denied for ${Math.ceil(wasMs / 1000)} more seconds)`
          : `${source} was not blocked for everybody; any per-account "not me" denials of it are lifted`,
      )
    })
}
