/**
 * oidc-provider 9 as a server process of its own for the OAuth benchmark
 * (`node --import tsx bench/oauth/oidc-server.ts <port>`): device flow on, DPoP (always on in 9), the
 * memory adapter with its store raised from 1 000 to 10⁶ entries (the benchmark's grants would be
 * evicted before they are polled), one public client `bench-client`, on 127.0.0.1. Stops on SIGTERM.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresdeviceflow
 */
import { createServer } from 'node:http'

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'

const main = async (): Promise<void> => {
  const port = Number(process.argv[2])
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error('usage: oidc-server.ts <port>')
  // oidc-provider warns about its development defaults (keys, adapter, cookies): not our concern here.
  console.warn = () => {}
  console.info = () => {}
  const base = `http://127.0.0.1:${port}`
  // oidc-provider ships no types (and @types/oidc-provider is not installed): import it untyped.
  const oidcProvider: string = 'oidc-provider'
  const { default: Provider } = await import(oidcProvider)
  const lib = new URL('../../node_modules/oidc-provider/lib/', import.meta.url)
  const { default: LRU } = await import(new URL('helpers/lru.js', lib).href)
  const { default: MemoryAdapter } = await import(new URL('adapters/memory_adapter.js', lib).href)
  const store = new LRU({ maxSize: 1_000_000 })
  const provider = new Provider(base, {
    adapter: (model: string) => new MemoryAdapter(model, store, 0),
    clients: [
      {
        client_id: 'bench-client',
        grant_types: [DEVICE_CODE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
      },
    ],
    features: { deviceFlow: { enabled: true }, devInteractions: { enabled: false } },
    routes: { device_authorization: '/oauth2/device_authorization', token: '/oauth2/token' },
  })
  if (process.env.BENCH_DEBUG)
    provider.on('grant.error', (_ctx: unknown, e: { error_detail?: string; message: string }) =>
      process.stderr.write(`oidc: ${e.error_detail ?? e.message}\n`),
    )
  const server = createServer(provider.callback())
  server.listen(port, '127.0.0.1')
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
}

main().catch((error: unknown) => {
  process.stderr.write(`oidc-server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
