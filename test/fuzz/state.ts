/**
 * Real state for the fuzzer to aim at: an account signed in with the password (access and refresh
 * token), a device grant (device code, user code, the DPoP key that asked for it), and one channel of
 * each rendezvous API (MSC4108 2024, MSC4388, native with its creator secret and ticket). The fuzzer
 * mutates these values; a valid request may consume them, so the state is rebuilt now and then.
 */
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'

export const FUZZ_PASSWORD = 'correct horse battery staple'
export const FUZZ_ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'
export const FUZZ_INTROSPECTION_BASIC = `Basic ${Buffer.from('rs1:introspection-secret-0123456789abcdef0123').toString('base64')}`
export const MSC4108_PREFIX = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'
export const MSC4388_PREFIX = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
export const NATIVE_PREFIX = '/v1/rendezvous'
export const BASE_URL = 'https://relay.example'

/** Everything real the fuzzer knows. */
export interface FuzzState {
  username: string
  accessToken: string
  refreshToken: string
  deviceId: string
  holder: DpopHolder
  deviceCode: string
  userCode: string
  binding: string
  msc4108: { id: string; etag: string }
  msc4388: { id: string; sequenceToken: string }
  native: { id: string; sequenceToken: string; creatorSecret: string; ticket: string }
  /** Ready-made DPoP proofs (for the token, device authorization and an authed GET). */
  proofs: string[]
}

const json = async (res: Response): Promise<Record<string, any>> => {
  const text = await res.text()
  try {
    return JSON.parse(text) as Record<string, any>
  } catch {
    return { raw: text }
  }
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

let serial = 0

/** Builds fresh state on the server at `baseUrl` (a new account every time). Throws when a step fails. */
export const buildState = async (baseUrl: string): Promise<FuzzState> => {
  const username = `fuzz${process.pid}x${serial++}x${Date.now().toString(36)}`
  const created = await post(
    `${baseUrl}/v1/admin/users`,
    { username, password: FUZZ_PASSWORD },
    { authorization: `Bearer ${FUZZ_ADMIN_TOKEN}` },
  )
  if (created.status !== 201) throw new Error(`admin create: ${created.status} ${JSON.stringify(await json(created))}`)
  const first = await json(await post(`${baseUrl}/v1/login`, { username, initial_device_display_name: 'Fuzz' }))
  const signedIn = await post(`${baseUrl}/v1/login`, {
    username,
    initial_device_display_name: 'Fuzz',
    auth: { type: 'm.login.password', session: first.session, password: FUZZ_PASSWORD },
  })
  const tokens = await json(signedIn)
  if (signedIn.status !== 200) throw new Error(`login: ${signedIn.status} ${JSON.stringify(tokens)}`)

  const holder = await dpopHolder()
  const now = Date.now()
  const binding = 'b'.repeat(43)
  const grantRes = await fetch(`${baseUrl}/oauth2/device_authorization`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await holder.prove('POST', `${BASE_URL}/oauth2/device_authorization`, now),
    },
    body: new URLSearchParams({ channel_binding: binding, device_name: 'Fuzz new device' }).toString(),
  })
  const grant = await json(grantRes)
  if (grantRes.status !== 200) throw new Error(`device_authorization: ${grantRes.status} ${JSON.stringify(grant)}`)

  const r2024 = await fetch(`${baseUrl}${MSC4108_PREFIX}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
  const b2024 = await json(r2024)
  if (r2024.status !== 201) throw new Error(`msc4108 create: ${r2024.status}`)
  const r4388 = await post(`${baseUrl}${MSC4388_PREFIX}`, { data: 'aGVsbG8' })
  const b4388 = await json(r4388)
  if (r4388.status !== 200) throw new Error(`msc4388 create: ${r4388.status} ${JSON.stringify(b4388)}`)
  const rNative = await post(`${baseUrl}${NATIVE_PREFIX}`, { data: 'aGVsbG8' })
  const bNative = await json(rNative)
  if (rNative.status !== 200) throw new Error(`native create: ${rNative.status} ${JSON.stringify(bNative)}`)

  const proofs = [
    await holder.prove('POST', `${BASE_URL}/oauth2/token`, now),
    await holder.prove('POST', `${BASE_URL}/oauth2/device_authorization`, now),
    await holder.prove('GET', `${BASE_URL}/v1/account/whoami`, now, { accessToken: tokens.access_token as string }),
  ]
  return {
    username,
    accessToken: tokens.access_token as string,
    refreshToken: tokens.refresh_token as string,
    deviceId: tokens.device_id as string,
    holder,
    deviceCode: grant.device_code as string,
    userCode: grant.user_code as string,
    binding,
    msc4108: { id: new URL(b2024.url as string).pathname.split('/').pop() as string, etag: r2024.headers.get('etag') ?? '' },
    msc4388: { id: b4388.id as string, sequenceToken: b4388.sequence_token as string },
    native: {
      id: bNative.id as string,
      sequenceToken: bNative.sequence_token as string,
      creatorSecret: (bNative.creator_secret as string | undefined) ?? '',
      ticket: (bNative.ticket as string | undefined) ?? '',
    },
    proofs,
  }
}
