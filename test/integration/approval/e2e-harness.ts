/**
 * Shared pieces of the end-to-end QR login tests through the device SDK: the server settings, a
 * device as a base URL plus the network it appears from (a trusted `X-Forwarded-For`), the password
 * login of the existing device, and one whole QR login in either intent.
 */
import WebSocket from 'ws'
import { expect } from 'vitest'
import {
  approveSignIn,
  ExistingDevice,
  NewDevice,
  signIn,
  type ApprovalContext,
  type ApprovalResult,
  type DeviceSession,
  type SignInStep,
  type StepUpChallenge,
} from '../../../src/client/devices.ts'
import { httpTransport } from '../../../src/client/http-transport.ts'
import type { FetchLike } from '../../../src/client/native-api.ts'
import type { QrDisplay } from '../../../src/client/qr-display.ts'
import type { QrScan } from '../../../src/client/qr-scan.ts'
import type { TransportConnector } from '../../../src/client/transport.ts'
import { webSocketTransport } from '../../../src/client/ws-transport.ts'
import { call, withUia } from '../../helpers/account-client.ts'
import { TEST_RATES, type Intent, type TransportName } from '../client/harness.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

export const PASSWORD = 'correct horse battery staple'
/** The existing device's network, another address of the same /24, and a far-away one. */
export const HOME = '198.51.100.20'
export const HOME_TOO = '198.51.100.77'
export const ELSEWHERE = '203.0.113.5'

/** Server settings of every e2e server: fast, permissive rates, client addresses from X-Forwarded-For. */
export const E2E_ENV: Record<string, string> = {
  ...TEST_RATES,
  ...TEST_ENV,
  QRELAY_LOG_LEVEL: 'silent',
  QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
  QRELAY_POLL_INTERVAL_SECONDS: '1',
  QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
  QRELAY_RATE_USER_CODE_PER_ACCOUNT: '1000/300s',
  QRELAY_RATE_USER_CODE_PER_CLIENT: '1000/300s',
  QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '1000/60s',
  QRELAY_RATE_TOKEN_PER_CLIENT: '10000/60s',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT: '1000/900s',
  QRELAY_RATE_AUTH_FAILURES_PER_CLIENT: '1000/900s',
}

/** A device: the server it talks to and the address it appears from. */
export interface DeviceAt {
  baseUrl: string
  peer: string
}

/** fetch that appears to come from `peer` (the loopback proxy's header is trusted). */
export const fetchFrom =
  (peer: string): FetchLike =>
  (input, init = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-forwarded-for', peer)
    return fetch(input, { ...init, headers })
  }

export const connector = (name: TransportName, at: DeviceAt): TransportConnector =>
  name === 'http'
    ? httpTransport({ baseUrl: at.baseUrl, pollIntervalMs: 20, fetch: fetchFrom(at.peer) })
    : webSocketTransport({ baseUrl: at.baseUrl, WebSocket, pingIntervalMs: 5000, fetch: fetchFrom(at.peer) })

const sendFrom = (at: DeviceAt) => (path: string, init: RequestInit) => fetchFrom(at.peer)(`${at.baseUrl}${path}`, init)

/** Creates `username` through the admin endpoint (once per account). */
export const createUser = async (at: DeviceAt, username: string): Promise<void> => {
  const created = await call(sendFrom(at), 'POST', '/v1/admin/users', { username, password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status, JSON.stringify(created.body)).toBe(201)
}

/** Signs the existing device in with the password; returns its Bearer access token. */
export const passwordLogin = async (at: DeviceAt, username: string): Promise<string> => {
  const { final } = await withUia(sendFrom(at), 'POST', '/v1/login', { username, initial_device_display_name: 'Phone' }, PASSWORD)
  expect(final.status, JSON.stringify(final.body)).toBe(200)
  return final.body.access_token as string
}

/** Options of one QR login. */
export interface QrLoginOptions {
  intent: Intent
  newAt: DeviceAt
  existingAt: DeviceAt
  newTransport?: TransportName
  existingTransport?: TransportName
  accessToken: string
  /** The person's answer; default approve. */
  confirm?: (context: ApprovalContext) => boolean
  stepUp?: (challenge: StepUpChallenge) => Record<string, unknown> | null
  /** The check code typed on the shower; default the right one. */
  typedCode?: (shownCode: string) => string
  publicBaseUrl?: string
  /** Where the new device's channel requests come from, when not `newAt.peer` (a relayed QR). */
  newChannelPeer?: string
}

/** What both devices ended with (each a value or the error it threw). */
export interface QrLoginOutcome {
  session: DeviceSession | Error
  approval: ApprovalResult | Error
  steps: SignInStep[]
  contexts: ApprovalContext[]
  challenges: StepUpChallenge[]
  shown: QrDisplay
  scan: QrScan
}

const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))

/** Runs a whole QR login: show, scan, handshake, check code, then signIn and approveSignIn at once. */
export const qrLogin = async (o: QrLoginOptions): Promise<QrLoginOutcome> => {
  const newTransport = o.newTransport ?? 'http'
  const existingTransport = o.existingTransport ?? 'http'
  const pub = o.publicBaseUrl === undefined ? {} : { publicBaseUrl: o.publicBaseUrl }
  const newChannelAt = { baseUrl: o.newAt.baseUrl, peer: o.newChannelPeer ?? o.newAt.peer }
  const newOptions = { baseUrl: o.newAt.baseUrl, fetch: fetchFrom(o.newAt.peer), transport: connector(newTransport, newChannelAt), ...pub }
  const existingOptions = {
    baseUrl: o.existingAt.baseUrl,
    fetch: fetchFrom(o.existingAt.peer),
    transport: connector(existingTransport, o.existingAt),
    ...pub,
  }
  const newShows = o.intent === 'new shows'
  const shown = newShows ? await NewDevice.showQr(newOptions) : await ExistingDevice.showQr(existingOptions)
  const scan = newShows ? await ExistingDevice.scanQr(shown.qrLink, existingOptions) : await NewDevice.scanQr(shown.qrLink, newOptions)
  await Promise.all([shown.waitForPeer({ timeoutMs: 10_000 }), scan.connect({ timeoutMs: 10_000 })])
  const [newSession, existingSession] = newShows ? [shown, scan] : [scan, shown]

  const steps: SignInStep[] = []
  const contexts: ApprovalContext[] = []
  const challenges: StepUpChallenge[] = []
  const typed = (o.typedCode ?? ((c: string) => c))(scan.checkCode)
  // The shower's person types the code; the scanner's side may already go on.
  const confirmed = settle(shown.confirmCheckCode(typed))
  const newRuns = async (): Promise<DeviceSession> => {
    if (newShows) {
      const c = await confirmed
      if (c instanceof Error) throw c
    }
    return signIn(newSession, { ...newOptions, deviceName: 'Kitchen TV', onStep: (s) => steps.push(s) })
  }
  const existingRuns = async (): Promise<ApprovalResult> => {
    if (!newShows) {
      const c = await confirmed
      if (c instanceof Error) throw c
    }
    return approveSignIn(existingSession, {
      ...existingOptions,
      accessToken: o.accessToken,
      timeoutMs: 15_000,
      confirm: (context) => {
        contexts.push(context)
        return o.confirm === undefined ? true : o.confirm(context)
      },
      ...(o.stepUp === undefined
        ? {}
        : {
            stepUp: (challenge: StepUpChallenge) => {
              challenges.push(challenge)
              return o.stepUp!(challenge)
            },
          }),
    })
  }
  const [session, approval] = await Promise.all([settle(newRuns()), settle(existingRuns())])
  await Promise.all([shown.close().catch(() => {}), scan.close().catch(() => {})])
  return { session, approval, steps, contexts, challenges, shown, scan }
}

/** The password answer to a step-up. */
export const passwordStepUp =
  (username: string, password = PASSWORD) =>
  (): Record<string, unknown> => ({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: username },
    password,
  })

/**
 * `GET /v1/account/whoami` with the session's DPoP proof: through `authorizedFetch`, or at another
 * process `baseUrl` standing behind the same `publicBaseUrl` (the proof names the public URL).
 */
export const whoami = async (
  session: DeviceSession,
  at?: { baseUrl: string; publicBaseUrl: string },
): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res =
    at === undefined
      ? await session.authorizedFetch('/v1/account/whoami')
      : await fetch(`${at.baseUrl}/v1/account/whoami`, {
          headers: {
            authorization: `DPoP ${session.accessToken}`,
            dpop: await session.dpop.proof('GET', `${at.publicBaseUrl}/v1/account/whoami`, session.accessToken),
          },
        })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
