/**
 * `GET /openapi.json`: a valid OpenAPI 3.1 document (@readme/openapi-parser) that lists every route
 * the app mounts, with the routes' own request schemas; and the response checker every test shares
 * (test/helpers/openapi-check.ts) really catches a response that disagrees with it.
 */
import { validate } from '@readme/openapi-parser'
import { describe, expect, it } from 'vitest'
import { OPERATIONS, openApiPath } from '../../../src/http/openapi/document.ts'
import type { WebSocketTransport } from '../../../src/http/routes/relay-ws.ts'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { responseChecker } from '../../helpers/openapi-check.ts'

/** Every optional area on, the WebSocket route included (its transport is never used here). */
const fullApp = async () => {
  const clock = fakeClock()
  const signingKeys = await openSigningKeys({ store: memoryKeyStore(), clock, random: seededRandom(3), retiredKeyTtlMs: 86_400_000 })
  return makeApp({
    clock,
    signingKeys,
    abuse: true,
    env: {
      QRELAY_ADMIN_TOKEN: 'admin-token-of-at-least-32-characters!!',
      QRELAY_REGISTRATION_ENABLED: 'true',
      QRELAY_INTROSPECTION_CLIENTS: 'rs1:an-introspection-secret-of-32-chars!!',
      QRELAY_INITIATION_VERIFY_CODE: 'true',
    },
    host: { websocket: { upgradeWebSocket: (() => () => new Response(null)) as never, relay: {} as never } satisfies WebSocketTransport },
  })
}

const documentOf = async (app: ReturnType<typeof makeApp>['app']): Promise<Record<string, any>> => {
  const res = await app.request('/openapi.json')
  expect(res.status).toBe(200)
  return res.json()
}

const operationKeys = (document: Record<string, any>): Set<string> =>
  new Set(Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item as object).map((m) => `${m} ${path}`)))

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const document = await documentOf((await fullApp()).app)
    expect(document.openapi).toBe('3.1.0')
    const result = await validate(structuredClone(document) as never)
    expect(result.valid ? [] : result.errors.map((e) => e.message)).toEqual([])
  })

  it('lists every route the app mounts, and nothing it does not', async () => {
    const { app } = await fullApp()
    const documented = operationKeys(await documentOf(app))
    const mounted = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`)
    expect(mounted.filter((key) => !documented.has(key))).toEqual([])
    expect([...documented].filter((key) => !mounted.includes(key))).toEqual([])
    // Every description is of a route that exists (metrics: only with a metrics backend, on Node).
    const described = OPERATIONS.map((op) => `${op.method} ${openApiPath(op.path)}`).filter((key) => key !== 'get /metrics')
    expect(described.filter((key) => !documented.has(key))).toEqual([])
  })

  it('describes only what a smaller configuration mounts', async () => {
    const documented = operationKeys(await documentOf(makeApp().app))
    expect(documented.has('post /v1/admin/users')).toBe(false)
    expect(documented.has('post /v1/rendezvous')).toBe(true)
  })

  it('documents request bodies with the schemas that validate them', async () => {
    const document = await documentOf((await fullApp()).app)
    const body = document.paths['/v1/devices/{id}'].patch.requestBody.content['application/json'].schema
    expect(body).toMatchObject({
      properties: { display_name: { type: 'string', minLength: 1, maxLength: 100 } },
      required: ['display_name'],
    })
    const res = await (await fullApp()).app.request('/v1/devices/d1', { method: 'PATCH' })
    expect(res.status).toBe(401)
    const security = document.paths['/v1/admin/users'].get.security
    expect(security).toEqual([{ adminToken: [] }])
    expect(document.paths['/v1/rendezvous/{id}/ws'].get.responses['101']).toBeDefined()
  })
})

describe('the response checker', () => {
  it('refuses a body that does not match its schema, and an undocumented status', async () => {
    const document = await documentOf((await fullApp()).app)
    const check = responseChecker(document)
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
    await expect(check('GET', '/healthz', json({ status: 'ok' }))).resolves.toBeUndefined()
    await expect(check('GET', '/healthz', json({ status: 42 }))).rejects.toThrow(/does not match/)
    await expect(check('GET', '/healthz', json({ status: 'ok' }, 418))).rejects.toThrow(/status not documented/)
    await expect(check('POST', '/v1/rendezvous', json({ id: 'x', sequence_token: 't' }))).rejects.toThrow(/expires_in_ms/)
    await expect(check('GET', '/v1/devices', json({ errcode: 'M_X', error: 'x', qrelay_code: 'X' }, 401))).resolves.toBeUndefined()
    await expect(check('GET', '/v1/devices', json({ errcode: 'M_X' }, 401))).rejects.toThrow(/does not match/)
  })

  it('is hooked into the test app: a response the document does not allow fails the request', async () => {
    // A described route this configuration does not mount, answering what its description forbids.
    const wrongBody = makeApp().app
    wrongBody.get('/v1/admin/keys', (c) => c.json({ keys: 'not a list' }))
    await expect(wrongBody.request('/v1/admin/keys')).rejects.toThrow(/OpenAPI: body does not match the document: GET \/v1\/admin\/keys/)
    const wrongStatus = makeApp().app
    wrongStatus.get('/v1/admin/abuse/blocks', (c) => c.json({ blocks: [] }, 202))
    await expect(wrongStatus.request('/v1/admin/abuse/blocks')).rejects.toThrow(/status not documented/)
  })
})
