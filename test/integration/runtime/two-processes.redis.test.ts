/**
 * Two qrelay processes, started as operators start them, sharing one Redis: every channel of the three
 * APIs is served by both, compare-and-swap holds across them, the two-party rule too. Also the process
 * entry itself: refusal of a bad configuration, and a clean exit on SIGTERM.
 */
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonInit, NATIVE, textInit, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { ServerStartError, spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'

const url = redisUrl()

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` })

/**
 * A 2024 PUT whose body is held back: `accepted` resolves once the server has parsed the headers
 * (it answered `100 Continue`), `finish(body)` sends the body and resolves with the status.
 */
const heldPut = (base: string, path: string, etag: string) => {
  const target = new URL(base)
  const req = request({
    host: target.hostname,
    port: target.port,
    path,
    method: 'PUT',
    agent: false,
    headers: {
      'Content-Type': 'text/plain',
      'Content-Length': '2',
      'If-Match': etag,
      Expect: '100-continue',
      Connection: 'close',
    },
  })
  const status = new Promise<number>((resolve, reject) => {
    req.once('response', (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', reject)
  })
  const accepted = new Promise<void>((resolve) => req.once('continue', () => resolve()))
  const finish = (body: string): Promise<number> => {
    req.end(body)
    return status
  }
  return { accepted, finish }
}

/** Resolves once `base` refuses new connections (its listener closed), trying at most `tries` times. */
const refusesConnections = async (base: string, tries = 300): Promise<boolean> => {
  const { hostname, port } = new URL(base)
  for (let i = 0; i < tries; i++) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), hostname)
      socket.once('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', () => resolve(true))
    })
    if (refused) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

const errcodeOf = async (res: Response): Promise<string> => ((await res.json()) as { errcode: string }).errcode

describe('qrelay process', () => {
  it('refuses to start with a bad configuration and lists every problem on stderr', async () => {
    const error = await spawnServer({ QRELAY_PORT: 'abc', QRELAY_STORE: 'nope' }).then(
      () => expect.unreachable('qrelay started with a bad configuration'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ServerStartError)
    const { exit, stderr } = error as ServerStartError
    expect(exit?.code).not.toBe(0)
    expect(exit?.code).not.toBeNull()
    const text = stderr.join('\n')
    expect(text).toContain('QRELAY_PORT must be a whole number, got "abc"')
    expect(text).toContain('QRELAY_STORE must be one of memory, redis, got "nope"')
  })
})

if (url === null) {
  describe.skip('two qrelay processes sharing Redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('two qrelay processes sharing Redis', () => {
    const env = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('two-processes'),
      QRELAY_LOG_HASH_KEY: '3c'.repeat(32),
    }
    let one: SpawnedServer
    let two: SpawnedServer

    beforeAll(async () => {
      ;[one, two] = await Promise.all([spawnServer(env), spawnServer(env)])
    })
    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()])
    })

    it('reports ready on both processes with the redis store', async () => {
      for (const server of [one, two]) {
        const res = await fetch(`${server.url}/readyz`)
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ status: 'ready', store: 'redis' })
      }
    })

    it('reports unready (503) on a process whose Redis is unreachable', async () => {
      // Port 1 on loopback: nothing listens there. The shared Redis is left alone.
      const cutOff = await spawnServer({ ...env, QRELAY_REDIS_URL: 'redis://127.0.0.1:1' })
      try {
        const res = await fetch(`${cutOff.url}/readyz`)
        expect(res.status).toBe(503)
        expect(await res.json()).toEqual({ status: 'unavailable', store: 'redis' })
        expect((await fetch(`${cutOff.url}/healthz`)).status).toBe(200)
      } finally {
        expect(await cutOff.stop()).toEqual({ code: 0, signal: null })
      }
    })

    it('serves one 2024 session from both processes, with ETags honoured across them', async () => {
      const created = await fetch(`${one.url}${V2024}`, textInit('POST', 'initiate'))
      expect(created.status).toBe(201)
      const { url: sessionUrl } = (await created.json()) as { url: string }
      expect(new URL(sessionUrl).origin).toBe(one.url)
      const path = new URL(sessionUrl).pathname
      const e0 = created.headers.get('etag') as string

      const read = await fetch(`${two.url}${path}`)
      expect(read.status).toBe(200)
      expect(read.headers.get('content-type')).toBe('text/plain')
      expect(await read.text()).toBe('initiate')
      const unchanged = await fetch(`${two.url}${path}`, { headers: { 'If-None-Match': e0 } })
      expect(unchanged.status).toBe(304)
      // Both processes describe the stored record identically: same ETag, expiry and modification time.
      for (const res of [read, unchanged]) {
        for (const name of ['etag', 'expires', 'last-modified']) expect(res.headers.get(name)).toBe(created.headers.get(name))
      }

      const written = await fetch(`${one.url}${path}`, textInit('PUT', 'ok', { 'If-Match': e0 }))
      expect(written.status).toBe(202)
      const e1 = written.headers.get('etag') as string
      expect(e1).not.toBe(e0)

      // Process 2 never saw the write, yet refuses the stale ETag and names the current one.
      const stale = await fetch(`${two.url}${path}`, textInit('PUT', 'late', { 'If-Match': e0 }))
      expect(stale.status).toBe(412)
      for (const name of ['etag', 'expires', 'last-modified']) expect(stale.headers.get(name)).toBe(written.headers.get(name))
      expect(await stale.json()).toMatchObject({ 'org.matrix.msc4108.errcode': 'M_CONCURRENT_WRITE' })
      const fresh = await fetch(`${two.url}${path}`, { headers: { 'If-None-Match': e0 } })
      expect(fresh.status).toBe(200)
      expect(fresh.headers.get('etag')).toBe(e1)
      expect(await fresh.text()).toBe('ok')

      expect((await fetch(`${two.url}${path}`, { method: 'DELETE' })).status).toBe(204)
      for (const server of [one, two]) {
        const gone = await fetch(`${server.url}${path}`)
        expect(gone.status).toBe(404)
        expect(await errcodeOf(gone)).toBe('M_NOT_FOUND')
        expect((await fetch(`${server.url}${path}`, textInit('PUT', 'x', { 'If-Match': e1 }))).status).toBe(404)
        expect((await fetch(`${server.url}${path}`, { method: 'DELETE' })).status).toBe(404)
      }
    })

    it('serves one MSC4388 channel from both processes, with sequence tokens honoured across them', async () => {
      const created = await fetch(`${one.url}${V4388}`, jsonInit('POST', { data: 'offer' }))
      expect(created.status).toBe(200)
      const { id, sequence_token: t0 } = (await created.json()) as { id: string; sequence_token: string }
      const path = `${V4388}/${id}`

      const read = await fetch(`${two.url}${path}`)
      expect(await read.json()).toMatchObject({ data: 'offer', sequence_token: t0 })
      const written = await fetch(`${two.url}${path}`, jsonInit('PUT', { sequence_token: t0, data: 'answer' }))
      expect(written.status).toBe(200)
      const { sequence_token: t1 } = (await written.json()) as { sequence_token: string }
      expect(t1).not.toBe(t0)

      const stale = await fetch(`${one.url}${path}`, jsonInit('PUT', { sequence_token: t0, data: 'other' }))
      expect(stale.status).toBe(409)
      expect(await errcodeOf(stale)).toBe('IO_ELEMENT_MSC4388_CONCURRENT_WRITE')
      // A retry of the write that already landed (on the other process) succeeds without advancing.
      const retry = await fetch(`${one.url}${path}`, jsonInit('PUT', { sequence_token: t0, data: 'answer' }))
      expect(retry.status).toBe(200)
      expect(await retry.json()).toEqual({ sequence_token: t1 })
      expect(await (await fetch(`${one.url}${path}`)).json()).toMatchObject({ data: 'answer', sequence_token: t1 })

      expect((await fetch(`${one.url}${path}`, { method: 'DELETE' })).status).toBe(200)
      for (const server of [one, two]) {
        const gone = await fetch(`${server.url}${path}`)
        expect(gone.status).toBe(404)
        expect(await errcodeOf(gone)).toBe('M_NOT_FOUND')
        const late = await fetch(`${server.url}${path}`, jsonInit('PUT', { sequence_token: t1, data: 'x' }))
        expect(late.status).toBe(404)
      }
    })

    it('keeps a native channel to its two parties whichever process each request reaches', async () => {
      const created = await fetch(`${one.url}${NATIVE}`, jsonInit('POST', { data: 'offer' }))
      const { id, creator_secret: creator } = (await created.json()) as { id: string; creator_secret: string }
      const path = `${NATIVE}/${id}`

      const claim = await fetch(`${two.url}${path}`)
      expect(claim.status).toBe(200)
      const joined = (await claim.json()) as { data: string; sequence_token: string; joiner_secret: string }
      expect(joined.data).toBe('offer')
      expect(typeof joined.joiner_secret).toBe('string')

      // The claim made on process 2 shuts a third party out on process 1, and the other way round.
      const third = await fetch(`${one.url}${path}`)
      expect(third.status).toBe(403)
      expect(await errcodeOf(third)).toBe('M_FORBIDDEN')
      expect((await fetch(`${two.url}${path}`, { headers: bearer('A'.repeat(43)) })).status).toBe(403)
      const asCreator = await fetch(`${two.url}${path}`, { headers: bearer(creator) })
      expect(asCreator.status).toBe(200)
      expect(await asCreator.json()).not.toHaveProperty('joiner_secret')

      const answer = { sequence_token: joined.sequence_token, data: 'answer' }
      const written = await fetch(`${one.url}${path}`, jsonInit('PUT', answer, bearer(joined.joiner_secret)))
      expect(written.status).toBe(200)
      const stale = await fetch(`${two.url}${path}`, jsonInit('PUT', { ...answer, data: 'other' }, bearer(creator)))
      expect(stale.status).toBe(409)
      expect(await errcodeOf(stale)).toBe('M_CONCURRENT_WRITE')

      expect((await fetch(`${one.url}${path}`, { method: 'DELETE' })).status).toBe(401)
      expect((await fetch(`${two.url}${path}`, { method: 'DELETE', headers: bearer(creator) })).status).toBe(200)
      for (const server of [one, two]) {
        const gone = await fetch(`${server.url}${path}`, { headers: bearer(joined.joiner_secret) })
        expect(gone.status).toBe(404)
        expect(await errcodeOf(gone)).toBe('M_NOT_FOUND')
      }
    })

    it('exits with code 0 on SIGTERM long before the grace period when only idle connections are open', async () => {
      // Idle connections must not hold the shutdown for the whole grace period: the stop deadline is a quarter of it.
      const server = await spawnServer({ ...env, QRELAY_SHUTDOWN_GRACE_MS: '20000' }, { stopTimeoutMs: 5_000 })
      // Leaves idle keep-alive connections from this process open while it shuts down.
      for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
      const exit = await server.stop()
      expect(exit).toEqual({ code: 0, signal: null })
      expect(server.stderr()).toContain('qrelay: SIGTERM, shutting down')
      const last = JSON.parse(
        server
          .logs()
          .filter((line) => line.startsWith('{'))
          .at(-1) as string,
      ) as { msg: string }
      expect(last.msg).toBe('stopped')
    })

    it('finishes a request in flight after SIGTERM before exiting with code 0', async () => {
      const server = await spawnServer(env, { stopTimeoutMs: 8_000 })
      const created = await fetch(`${server.url}${V2024}`, textInit('POST', ''))
      const path = new URL(((await created.json()) as { url: string }).url).pathname
      const put = heldPut(server.url, path, created.headers.get('etag') as string)
      await put.accepted
      const stopped = server.stop()
      expect(await refusesConnections(server.url)).toBe(true)
      expect(await put.finish('ok')).toBe(202)
      expect(await stopped).toEqual({ code: 0, signal: null })
      // The write landed in the shared store before the process let go of it.
      expect(await (await fetch(`${one.url}${path}`)).text()).toBe('ok')
    })
  })
}
