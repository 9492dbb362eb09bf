/**
 * The WebSocket relay across two qrelay processes sharing Redis (started as operators start them):
 * the two ends of a channel on different processes still relay, through Redis pub/sub, in order, with
 * the two-party rule, replacement and endings holding across them, and HTTP on either side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'
import { join, openSocket, wsUrl } from '../../helpers/ws-client.ts'

const url = redisUrl()

interface Created {
  id: string
  sequence_token: string
  creator_secret: string
}

const createChannel = async (base: string, data = 'offer'): Promise<Created> => {
  const res = await fetch(`${base}/v1/rendezvous`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ data }),
  })
  if (res.status !== 200) throw new Error(`create failed: ${res.status}`)
  return (await res.json()) as Created
}

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` })

if (url === null) {
  describe.skip('WebSocket relay across processes (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('WebSocket relay across two processes sharing Redis', () => {
    const env = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('ws-relay'),
      QRELAY_LOG_HASH_KEY: '5a'.repeat(32),
      QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
      QRELAY_RATE_WRITES_PER_CHANNEL: '1000/60s',
      QRELAY_RATE_REFUSED_PER_CLIENT: '1000/600s',
    }
    let one: SpawnedServer
    let two: SpawnedServer

    beforeAll(async () => {
      ;[one, two] = await Promise.all([spawnServer(env), spawnServer(env)])
    })
    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()])
    })

    /** The creator on process one, the joiner on process two. */
    const split = async (data = 'offer') => {
      const created = await createChannel(one.url, data)
      const creator = await join(one.url, created.id, created.creator_secret)
      const joiner = await join(two.url, created.id)
      return { created, creator: creator.ws, joiner: joiner.ws, joinerSecret: joiner.welcome.joiner_secret as string }
    }

    it('relays many messages in order both ways between the processes', async () => {
      const { created, creator, joiner } = await split()
      let token = created.sequence_token
      for (let i = 0; i < 30; i++) {
        creator.send({ type: 'put', sequence_token: token, data: `c${i}` })
        const ack = await creator.next()
        expect(ack.type).toBe('ack')
        expect(await joiner.next()).toEqual({ type: 'data', data: `c${i}`, sequence_token: ack.sequence_token })
        joiner.send({ type: 'put', sequence_token: ack.sequence_token, data: `j${i}` })
        const jack = await joiner.next()
        expect(jack.type).toBe('ack')
        expect(await creator.next()).toEqual({ type: 'data', data: `j${i}`, sequence_token: jack.sequence_token })
        token = jack.sequence_token as string
      }
      expect(creator.pending()).toEqual([])
      expect(joiner.pending()).toEqual([])
      creator.close()
      joiner.close()
    })

    it('lets only the first joiner claim, whichever process a second one reaches', async () => {
      const { created, creator, joiner } = await split()
      for (const server of [one, two]) {
        const third = await openSocket(wsUrl(server.url, created.id))
        third.send({ type: 'hello' })
        expect(await third.closedWithin()).toEqual({ code: 4403, reason: 'refused' })
      }
      creator.close()
      joiner.close()
    })

    it('races two joiners on the two processes: exactly one is welcomed', async () => {
      const created = await createChannel(one.url)
      const sockets = await Promise.all([openSocket(wsUrl(one.url, created.id)), openSocket(wsUrl(two.url, created.id))])
      for (const ws of sockets) ws.send({ type: 'hello' })
      const outcomes = await Promise.all(
        sockets.map((ws) =>
          ws.next().then(
            (frame) => frame.type,
            () => ws.closed.then((c) => `closed ${c.code}`),
          ),
        ),
      )
      expect(outcomes.sort()).toEqual(['closed 4403', 'welcome'])
      for (const ws of sockets) ws.close()
    })

    it('replaces a party socket on one process by a newer one on the other (4001)', async () => {
      const { created, creator, joiner } = await split()
      const newer = await join(two.url, created.id, created.creator_secret)
      expect((await creator.closedWithin()).code).toBe(4001)
      joiner.send({ type: 'put', sequence_token: created.sequence_token, data: 'hello newer' })
      expect((await joiner.next()).type).toBe('ack')
      expect(await newer.ws.next()).toMatchObject({ type: 'data', data: 'hello newer' })
      newer.ws.close()
      joiner.close()
    })

    it('pushes an HTTP write on one process to the WebSocket on the other', async () => {
      const created = await createChannel(one.url)
      const { ws: creator } = await join(one.url, created.id, created.creator_secret)
      const claim = await fetch(`${two.url}/v1/rendezvous/${created.id}`)
      const joined = (await claim.json()) as { sequence_token: string; joiner_secret: string }
      const put = await fetch(`${two.url}/v1/rendezvous/${created.id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', ...bearer(joined.joiner_secret) },
        body: JSON.stringify({ sequence_token: joined.sequence_token, data: 'over http on two' }),
      })
      const { sequence_token } = (await put.json()) as { sequence_token: string }
      expect(await creator.next()).toEqual({ type: 'data', data: 'over http on two', sequence_token })
      creator.close()
    })

    it('closes the other end on the other process when a party deletes or aborts', async () => {
      const first = await split()
      await fetch(`${two.url}/v1/rendezvous/${first.created.id}`, { method: 'DELETE', headers: bearer(first.joinerSecret) })
      expect(await first.creator.closedWithin()).toEqual({ code: 4404, reason: 'deleted by the other party' })
      expect((await first.joiner.closedWithin()).code).toBe(1000)

      const second = await split()
      second.creator.send({ type: 'abort', reason: 'check_code_mismatch' })
      expect((await second.creator.closedWithin()).code).toBe(1000)
      expect(await second.joiner.closedWithin()).toEqual({ code: 4409, reason: 'check_code_mismatch' })
    })

    it('keeps bearer values out of both processes’ logs', async () => {
      const { created, creator, joiner, joinerSecret } = await split('payload-789')
      creator.close()
      joiner.close()
      await Promise.all([creator.closed, joiner.closed])
      const logs = [...one.logs(), ...two.logs()].join('\n')
      expect(logs).toContain('websocket closed')
      for (const value of [created.id, created.creator_secret, joinerSecret, created.sequence_token, 'payload-789']) {
        expect(logs).not.toContain(value)
      }
    })
  })
}
