/**
 * A Lua script of the Redis adapters, run the way ioredis' `defineCommand` runs one (`EVAL` the first
 * time on a connection, `EVALSHA` after, `EVAL` again once after a `NOSCRIPT`), with less work per call
 * on one Redis or Sentinel: the arguments are flattened and stringified here into the one array the
 * command keeps, instead of by `Script.execute`, the command wrapper and the `Command` constructor
 * (whose `args.flat()` alone took ≈ 2 µs a call on Node 20, a sizeable part of a relay request).
 * Replies, their order, timeouts, the offline queue and reconnects stay ioredis' own.
 *
 * On Redis Cluster the script runs as a `defineCommand` command, so ioredis' auto-pipelining keeps
 * batching it per node. Such a command must be defined on the client before the client sends anything
 * ({@link RedisScript.defineOn}, called by the stores as they are built): ioredis copies the client's
 * commands into each auto-pipeline when it makes one, so a pipeline made before the definition has no
 * such method; calling it there throws, and the pipeline's reply handler then crashes the process on
 * the reply it is missing (ioredis issue 1931, seen under load in two processes on a cluster).
 */
import { createHash } from 'node:crypto'
import { Command } from 'ioredis'
import type { RedisClient } from './redis-client.ts'

/** Keys, then arguments (numbers are sent as `String(n)`, as ioredis does with safe integers and fractions). */
export type ScriptArgs = ReadonlyArray<string | number>

/** Runs the script on `client`; the reply as ioredis gives it with UTF-8 strings. */
export interface RedisScript<T> {
  (client: RedisClient, keysThenArgs: ScriptArgs): Promise<T>
  /** Defines the script on a cluster client (nothing to do on one Redis or Sentinel); before its first command. */
  defineOn(client: RedisClient): void
}

/**
 * Defines `scripts` on `client` when it is a cluster client: a store calls it as it is built, before
 * anything is sent (see {@link redisScript}).
 */
export const defineScripts = (client: RedisClient, scripts: ReadonlyArray<RedisScript<unknown>>): void => {
  for (const script of scripts) script.defineOn(client)
}

const NO_ARGS: never[] = []
const UTF8 = { replyEncoding: 'utf8' } as const

interface Loaded {
  lua: string
  sha: string
  /** The connections that have been sent the script's source (as ioredis' `Script` keeps them). */
  sockets: WeakSet<object>
}

/** An `EVALSHA` whose arguments are already flat strings; it sends `EVAL` on a connection new to the script. */
class ScriptCommand extends Command {
  /** The connection this command was last written to. */
  socket: object | undefined
  readonly script: Loaded
  constructor(script: Loaded, args: string[]) {
    // The constructor flattens and stringifies its arguments: give it none, then the finished array.
    super('evalsha', NO_ARGS, UTF8)
    this.script = script
    this.args = args
  }
  override toWritable(socket: object): string | Buffer {
    const { sockets, lua, sha } = this.script
    if (!sockets.has(socket)) {
      sockets.add(socket)
      this.name = 'eval'
      this.args[0] = lua
    } else if (this.name === 'eval') {
      this.name = 'evalsha'
      this.args[0] = sha
    }
    this.socket = socket
    return super.toWritable(socket)
  }
}

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.includes('NOSCRIPT')

/**
 * The script `lua` with `numberOfKeys` keys, known to ioredis as `name` on a cluster.
 *
 * @example
 * const incr = redisScript<number>('qrIncrement', "return redis.call('INCR', KEYS[1])", 1)
 * const value = await incr(client, ['qrelay:n'])
 */
export const redisScript = <T>(name: string, lua: string, numberOfKeys: number): RedisScript<T> => {
  const script: Loaded = { lua, sha: createHash('sha1').update(lua).digest('hex'), sockets: new WeakSet() }
  const head = String(numberOfKeys)
  const commandOf = (keysThenArgs: ScriptArgs): ScriptCommand => {
    const args = new Array<string>(keysThenArgs.length + 2)
    args[0] = script.sha
    args[1] = head
    for (let i = 0; i < keysThenArgs.length; i++) args[i + 2] = String(keysThenArgs[i])
    return new ScriptCommand(script, args)
  }
  const run = (client: RedisClient, keysThenArgs: ScriptArgs): Promise<T> => {
    if (client.isCluster) {
      const defined = (client as unknown as Record<string, ((...args: ScriptArgs) => Promise<T>) | undefined>)[name]
      // Defined now, it would be missing from the pipelines ioredis made before: a bug of ours, said at once.
      if (defined === undefined)
        return Promise.reject(new Error(`redis: the script ${name} was not defined on this cluster client before its first command`))
      return defined.call(client, ...keysThenArgs)
    }
    const command = commandOf(keysThenArgs)
    const sent = client.sendCommand(command) as Promise<T>
    return sent.catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      // The server lost the script (SCRIPT FLUSH, a promoted replica): send its source once more.
      if (command.socket !== undefined) script.sockets.delete(command.socket)
      return client.sendCommand(commandOf(keysThenArgs)) as Promise<T>
    })
  }
  const defineOn = (client: RedisClient): void => {
    if (client.isCluster && !(name in client)) client.defineCommand(name, { numberOfKeys, lua })
  }
  return Object.assign(run, { defineOn })
}
