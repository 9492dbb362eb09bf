/**
 * Full QR logins across two qrelay processes for the topology benchmark (the steps of bench/qr-login):
 * the new device shows a native channel on process A, the existing device scans it through process B;
 * handshake, check code, one message each way; the new device asks for a grant on A with a DPoP proof,
 * the existing device approves on B, the new device redeems on A.
 */
import { benchDpopKey } from '../dpop-key.ts'
import { ExistingDevice, NewDevice } from '../../src/client/devices.ts'
import { httpTransport } from '../../src/client/http-transport.ts'

const PASSWORD = 'correct horse battery staple'
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
/** The public base URL both processes stand behind (QRELAY_PUBLIC_BASE_URL): QR links and DPoP proofs name it. */
export const PUBLIC_BASE_URL = 'https://qrelay.bench'

const post = async (url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: any }> => {
  const res = await fetch(url, { method: 'POST', headers, body })
  return { status: res.status, body: await res.json() }
}
const postJson = (url: string, body: unknown, token?: string) =>
  post(url, JSON.stringify(body), {
    'content-type': 'application/json',
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  })
const postForm = (url: string, fields: Record<string, string>, proof: string) =>
  post(url, new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded', dpop: proof })

const approvers = new Map<string, string>()
/** A password session of a fresh user on `base` (created once per process pair), the approver's Bearer token. */
const approverOn = async (base: string, admin: string): Promise<string> => {
  const known = approvers.get(base)
  if (known !== undefined) return known
  const username = `bench${approvers.size}`
  const created = await postJson(`${base}/v1/admin/users`, { username, password: PASSWORD }, admin)
  if (created.status !== 201) throw new Error(`could not create the user: ${JSON.stringify(created.body)}`)
  const first = await postJson(`${base}/v1/login`, { username })
  const signedIn = await postJson(`${base}/v1/login`, {
    username,
    auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
  })
  if (signedIn.status !== 200) throw new Error(`login failed: ${JSON.stringify(signedIn.body)}`)
  approvers.set(base, signedIn.body.access_token as string)
  return signedIn.body.access_token as string
}

const qrLogin = async (a: string, b: string, approverToken: string): Promise<void> => {
  const shown = await NewDevice.showQr({
    baseUrl: a,
    publicBaseUrl: PUBLIC_BASE_URL,
    transport: httpTransport({ baseUrl: a, pollIntervalMs: 20 }),
  })
  const scan = await ExistingDevice.scanQr(shown.qrLink, {
    baseUrl: b,
    publicBaseUrl: PUBLIC_BASE_URL,
    transport: httpTransport({ baseUrl: b, pollIntervalMs: 20 }),
  })
  try {
    await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
    await shown.confirmCheckCode(scan.checkCode)
    await Promise.all([scan.send({ type: 'm.login.protocols' }), shown.receive({ timeoutMs: 10_000 })])
    await Promise.all([shown.send({ type: 'm.login.protocol' }), scan.receive({ timeoutMs: 10_000 })])
    const key = await benchDpopKey()
    const grant = await postForm(
      `${a}/oauth2/device_authorization`,
      { channel_binding: shown.channelBinding, device_name: 'bench' },
      await key.prove(`${PUBLIC_BASE_URL}/oauth2/device_authorization`),
    )
    if (grant.status !== 200) throw new Error(`grant: ${grant.status} ${JSON.stringify(grant.body)}`)
    const approved = await postJson(
      `${b}/v1/approvals/${encodeURIComponent(grant.body.user_code)}`,
      { decision: 'approve', channel_binding: scan.channelBinding, dpop_jkt: key.jkt },
      approverToken,
    )
    if (approved.status !== 200) throw new Error(`approval: ${approved.status} ${JSON.stringify(approved.body)}`)
    const tokens = await postForm(
      `${a}/oauth2/token`,
      { grant_type: DEVICE_CODE, device_code: grant.body.device_code },
      await key.prove(`${PUBLIC_BASE_URL}/oauth2/token`),
    )
    if (tokens.status !== 200) throw new Error(`token: ${tokens.status} ${JSON.stringify(tokens.body)}`)
  } finally {
    await scan.close().catch(() => {})
    await shown.close().catch(() => {})
  }
}

/**
 * Runs `logins` QR logins, `width` at a time, over the pair; logins per second and per CPU second of both servers.
 *
 * @example
 * const { perSecond } = await qrLoginsPerSecond(pair, ADMIN, 20, 4, cpuSeconds)
 */
export const qrLoginsPerSecond = async (
  pair: ReadonlyArray<{ url: string; child: { pid: number } }>,
  admin: string,
  logins: number,
  width: number,
  cpuSeconds: (pid: number) => number,
): Promise<{ perSecond: number; perCpuSecond: number }> => {
  const [a, b] = pair as [{ url: string; child: { pid: number } }, { url: string; child: { pid: number } }]
  const token = await approverOn(b.url, admin)
  const cpu = () => cpuSeconds(a.child.pid) + cpuSeconds(b.child.pid)
  const cpuBefore = cpu()
  const t0 = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < logins) {
      next++
      await qrLogin(a.url, b.url, token)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  const seconds = (performance.now() - t0) / 1000
  return { perSecond: logins / seconds, perCpuSecond: logins / (cpu() - cpuBefore) }
}
