/**
 * The forms validated by schema answer as they always did, and the document describes them with the
 * same schema: `POST /v1/device-verification` (RFC 6749 errors, field order) and the `/device`
 * consent form `POST /device/decide` (form body, HTML answers).
 */
import { describe, expect, it } from 'vitest'
import { makeApp } from '../../helpers/make-app.ts'

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
})

describe('POST /v1/device-verification form', () => {
  it.each([
    [{}, 'device_code is required'],
    [{ code: '123456' }, 'device_code is required'],
    [{ device_code: '', code: '123456' }, 'device_code is required'],
    [{ device_code: 'x'.repeat(257), code: '123456' }, 'device_code is required'],
    [{ device_code: 'dc' }, 'code is required'],
    [{ device_code: 'dc', code: '' }, 'code is required'],
    [{ device_code: 'x'.repeat(256), code: '1'.repeat(65) }, 'code is required'],
  ])('%j is refused: %s', async (fields, description) => {
    const { app } = makeApp()
    const res = await app.request('/v1/device-verification', form(fields))
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: description })
  })

  it('a well-formed form goes on to the DPoP check', async () => {
    const { app } = makeApp()
    const res = await app.request('/v1/device-verification', form({ device_code: 'x'.repeat(256), code: '1'.repeat(64) }))
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toBe('invalid_dpop_proof')
  })
})

describe('POST /device in the document', () => {
  it('has the code-entry form schema the handler parses with, and HTML answers', async () => {
    const { app } = makeApp()
    const doc = (await (await app.request('/openapi.json')).json()) as Record<string, any>
    const op = doc.paths['/device'].post
    const schema = op.requestBody.content['application/x-www-form-urlencoded'].schema
    expect(Object.keys(schema.properties)).toEqual(['user_code'])
    expect(schema.required).toBeUndefined()
    for (const status of ['200', '400', '403', '429']) expect(op.responses[status].content['text/html']).toEqual({})
  })

  it('a form with no code or a wrong one gets the form again: 400 HTML', async () => {
    const { app } = makeApp()
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://relay.example' }
    for (const body of ['', 'user_code=', 'user_code=%21%21']) {
      const res = await app.request('/device', { method: 'POST', headers, body })
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    }
  })
})

describe('POST /device/decide in the document', () => {
  it('has the form schema the handler parses with, and HTML answers', async () => {
    const { app } = makeApp()
    const doc = (await (await app.request('/openapi.json')).json()) as Record<string, any>
    const op = doc.paths['/device/decide'].post
    const schema = op.requestBody.content['application/x-www-form-urlencoded'].schema
    expect(Object.keys(schema.properties)).toEqual(['user_code', 'decision', 'password', 'totp', 'recovery'])
    expect(schema.properties.decision).toEqual({ enum: ['approve', 'decline'] })
    expect(schema.required).toBeUndefined()
    for (const status of ['200', '400', '403', '429']) expect(op.responses[status].content['text/html']).toEqual({})
  })

  it('a form without a user code is answered as before: 400, declined or not approved', async () => {
    const { app } = makeApp()
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://relay.example' }
    const declined = await app.request('/device/decide', { method: 'POST', headers, body: 'decision=nonsense' })
    const approve = await app.request('/device/decide', { method: 'POST', headers, body: 'decision=approve&user_code=' })
    expect([declined.status, approve.status]).toEqual([400, 400])
    expect(declined.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await declined.text()).not.toEqual(await approve.text())
  })
})
