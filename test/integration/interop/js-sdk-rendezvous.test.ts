/**
 * matrix-js-sdk's rendezvous transport and secure channel against one in-process qrelay on the
 * memory store (see js-sdk-suite.ts for the scenarios).
 */
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer } from '../../../src/runtime/node-server.ts'
import { describeJsSdkInterop } from './js-sdk-suite.ts'

describeJsSdkInterop('one process, memory store', async () => {
  const server = await startNodeServer(parseConfig({ QRELAY_PORT: '0' }), { logger: silentLogger })
  return { originsA: [server.url], originsB: [server.url], stop: () => server.stop() }
})
