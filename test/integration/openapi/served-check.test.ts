/**
 * The check of answers fetched from a real server (test/helpers/served-check.ts): a documented
 * operation's answer is checked (status, media type, JSON body), a server's page and a made-up path
 * are skipped on purpose, and so is the `404 unknown endpoint` of an operation the server's
 * configuration does not mount.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { type RunningServer, startNodeServer } from '../../../src/runtime/node-server.ts'
import { checkResponses } from '../../helpers/openapi-check.ts'
import { checkedFetch, checkServed } from '../../helpers/served-check.ts'

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

describe('checkServed (answers as a server would send them)', () => {
  const at = (path: string) => `http://127.0.0.1:9/${path.replace(/^\//, '')}`

  it('passes an answer that matches the document', async () => {
    await expect(checkServed('GET', at('/healthz'), json({ status: 'ok' }))).resolves.toBeUndefined()
  })

  it('throws on a JSON body, a status or a media type the document does not declare', async () => {
    await expect(checkServed('GET', at('/healthz'), json({ status: 'fine' }))).rejects.toThrow(/body does not match/)
    await expect(checkServed('GET', at('/healthz'), json({ status: 'ok' }, 418))).rejects.toThrow(/status not documented/)
    const css = new Response('x', { headers: { 'content-type': 'text/css' } })
    await expect(checkServed('GET', at('/metrics'), css)).rejects.toThrow(/media type text\/css not documented/)
  })

  it('leaves the caller a readable body', async () => {
    const res = json({ status: 'ok' })
    await checkServed('GET', at('/healthz'), res)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('skips made-up paths and the routing answers of an operation the server did not mount', async () => {
    await expect(checkServed('GET', at('/no/such/path'), json({ anything: 1 }, 418))).resolves.toBeUndefined()
    const unknown = json({ errcode: 'M_UNRECOGNIZED', error: 'unknown endpoint' }, 404)
    await expect(checkServed('GET', at('/v1/admin/users'), unknown)).resolves.toBeUndefined()
    const other404 = json({ errcode: 'M_NOT_FOUND', error: 'no such thing' }, 404)
    await expect(checkServed('GET', at('/healthz'), other404)).rejects.toThrow(/status not documented/)
  })
})

describe('checkResponses wraps the app fetch a server serves', () => {
  it('checks an answer given through fetch, and through request', async () => {
    const app = {
      routes: [{ method: 'GET', path: '/healthz' }],
      fetch: async (_request: Request) => json({ status: 'fine' }),
      request(path: string) {
        return this.fetch(new Request(`http://localhost${path}`))
      },
    }
    const checked = checkResponses(app)
    await expect(checked.fetch(new Request('http://127.0.0.1/healthz'))).rejects.toThrow(/body does not match/)
    await expect(checked.request('/healthz')).rejects.toThrow(/body does not match/)
  })
})

describe('checkedFetch against a server on port 0', () => {
  let server: RunningServer
  let dataDir: string
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'qrelay-served-check-'))
    const config = parseConfig({
      QRELAY_PORT: '0',
      QRELAY_DATA_DIR: dataDir,
      QRELAY_METRICS_ENABLED: 'true',
      QRELAY_SHUTDOWN_GRACE_MS: '100',
    })
    server = await startNodeServer(config, { logger: silentLogger })
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('checks JSON, text and HTML answers of documented operations', async () => {
    expect((await checkedFetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await checkedFetch(`${server.url}/openapi.json`)).status).toBe(200)
    const metrics = await checkedFetch(`${server.url}/metrics`)
    expect(metrics.status).toBe(200)
    const docs = await checkedFetch(`${server.url}/docs`)
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/)
    const created = await checkedFetch(`${server.url}/_matrix/client/unstable/io.element.msc4388/rendezvous`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":"hello"}',
    })
    expect(created.status).toBe(200)
    const bad = await checkedFetch(`${server.url}/_matrix/client/unstable/io.element.msc4388/rendezvous`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":1}',
    })
    expect(bad.status).toBe(400)
  })
})
