/**
 * The environment of the server a QR-login benchmark signs in against (`run.ts`, `paired.ts`): silent,
 * approvers of any age, and every rate limit out of the way (many logins from one address and account).
 */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123'

const GENEROUS = '100000000/1s'
const RATES = [
  'CREATE_PER_CLIENT',
  'READS_PER_CHANNEL',
  'WRITES_PER_CHANNEL',
  'AUTH_FAILURES_PER_CLIENT',
  'USER_CODE_PER_ACCOUNT',
  'USER_CODE_PER_CLIENT',
  'DEVICE_AUTHORIZATION_PER_CLIENT',
  'TOKEN_PER_CLIENT',
  'UIA_STARTS_PER_CLIENT',
  'DEVICE_TRUST_PER_ACCOUNT',
]

/**
 * Every rate limit a login touches set out of the way (`QRELAY_RATE_*`), and the cap on an account's
 * devices (every QR login of a run is one more device of the one approving account), for servers signed
 * in against many times from one address.
 */
export const generousRates = (): Record<string, string> => ({
  ...Object.fromEntries(RATES.map((rate) => [`QRELAY_RATE_${rate}`, GENEROUS])),
  QRELAY_MAX_DEVICES_PER_ACCOUNT: '100000',
})

export const qrLoginBenchEnv = (dataDir: string): Record<string, string> => ({
  QRELAY_PORT: '0',
  QRELAY_DATA_DIR: dataDir,
  QRELAY_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
  QRELAY_LOG_LEVEL: 'silent',
  QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
  QRELAY_POLL_INTERVAL_SECONDS: '1',
  ...generousRates(),
})
