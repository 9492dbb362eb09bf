/**
 * Binding the Node server: @hono/node-server's `serve()` behind the JSON refusal listener
 * (`./node-refusals.ts`), the fast path in front of the app (`./node-fast-path.ts`), and the
 * connection limits and parser refusals of `./node-limits.ts`.
 */
import type { Server } from 'node:http'
import type { WebSocketServer } from 'ws'
import type { Config } from '../config.ts'
import { fastPathServer, type FastPath } from './node-fast-path.ts'
import { answerParserRefusals, capConnectionsPerAddress, nodeServerOptions } from './node-limits.ts'
import { serveWithJsonRefusals } from './node-refusals.ts'

/**
 * Listens on the configured host and port; resolves once the server is bound. An error of the bound
 * server (an `accept` that failed: ENOBUFS, ENOMEM; the server listens on) goes to `onError`: an
 * `error` event without a listener would end the process.
 */
export const listen = (
  config: Config,
  fetch: (request: Request) => Response | Promise<Response>,
  wss: WebSocketServer | undefined,
  fast: FastPath | undefined,
  onError: (error: Error) => void,
): Promise<Server> =>
  new Promise<Server>((resolve, reject) => {
    const { host: hostname, port } = config.server
    const options = { fetch, hostname, port, serverOptions: nodeServerOptions(config.server), ...fastPathServer(fast) }
    const s = serveWithJsonRefusals(wss === undefined ? options : { ...options, websocket: { server: wss } }, () => {
      s.off('error', reject)
      s.on('error', onError)
      resolve(s as Server)
    })
    s.once('error', reject)
    capConnectionsPerAddress(s as Server, config.server, config.rateLimit)
    answerParserRefusals(s as Server)
  })
