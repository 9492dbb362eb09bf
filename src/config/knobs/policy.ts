/**
 * The knobs of geolocation, abuse counters and the approval policy, in the README's order.
 */
import { knob, type Section } from '../knob.ts'

/** Offline geolocation for the proximity policy on Node (MaxMind DB files). */
export const geo = {
  cityMmdbPath: knob.optionalString({
    env: 'QRELAY_GEO_CITY_MMDB_PATH',
  }),
  asnMmdbPath: knob.optionalString({
    env: 'QRELAY_GEO_ASN_MMDB_PATH',
  }),
} satisfies Section

/** Abuse counters per network and the automatic, decaying deny (see `core/policy/abuse.ts`). */
export const abuse = {
  enabled: knob.boolean({
    env: 'QRELAY_ABUSE_ENABLED',
    default: true,
  }),
  windowSeconds: knob.int({
    env: 'QRELAY_ABUSE_WINDOW_SECONDS',
    default: 3600,
    min: 60,
    max: 86_400,
  }),
  minCreatedForRatio: knob.int({
    env: 'QRELAY_ABUSE_MIN_CREATED_FOR_RATIO',
    default: 150,
    min: 1,
    max: 1_000_000,
  }),
  maxRefusedJoins: knob.int({
    env: 'QRELAY_ABUSE_MAX_REFUSED_JOINS',
    default: 10,
    min: 1,
    max: 1_000_000,
  }),
  maxCheckCodeAborts: knob.int({
    env: 'QRELAY_ABUSE_MAX_CHECK_CODE_ABORTS',
    default: 5,
    min: 1,
    max: 1_000_000,
  }),
  maxDeclinedApprovals: knob.int({
    env: 'QRELAY_ABUSE_MAX_DECLINED_APPROVALS',
    default: 5,
    min: 1,
    max: 1_000_000,
  }),
  baseBlockSeconds: knob.int({
    env: 'QRELAY_ABUSE_BASE_BLOCK_SECONDS',
    default: 600,
    min: 1,
    max: 604_800,
  }),
  maxBlockSeconds: knob.int({
    env: 'QRELAY_ABUSE_MAX_BLOCK_SECONDS',
    default: 86400,
    min: 1,
    max: 2_592_000,
  }),
  notMeDenySeconds: knob.int({
    env: 'QRELAY_NOT_ME_DENY_SECONDS',
    default: 86400,
    min: 0,
    max: 2_592_000,
  }),
  notMeGlobalAfterAccounts: knob.int({
    env: 'QRELAY_NOT_ME_GLOBAL_AFTER_ACCOUNTS',
    default: 3,
    min: 1,
    max: 1000,
  }),
  notMeGlobalMinAccountAgeSeconds: knob.int({
    env: 'QRELAY_NOT_ME_GLOBAL_MIN_ACCOUNT_AGE_SECONDS',
    default: 604_800,
    min: 0,
    max: 31_536_000,
  }),
  exemptLoopback: knob.boolean({
    env: 'QRELAY_ABUSE_EXEMPT_LOOPBACK',
    default: true,
  }),
  exemptTrustedNetworks: knob.boolean({
    env: 'QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS',
    default: false,
  }),
} satisfies Section

/** Who may approve a QR login, from where, and what a doubt costs (see `src/core/policy`). */
export const policy = {
  trustedNetworks: knob.cidrList({
    env: 'QRELAY_POLICY_TRUSTED_NETWORKS',
    default: [],
  }),
  deniedNetworks: knob.cidrList({
    env: 'QRELAY_POLICY_DENIED_NETWORKS',
    default: [],
  }),
  proximityAllowAtLeast: knob.enum({
    env: 'QRELAY_PROXIMITY_ALLOW_AT_LEAST',
    values: ['same_ip', 'same_prefix', 'nearby', 'regional', 'unknown'],
    default: 'nearby',
  }),
  proximityNearKm: knob.int({
    env: 'QRELAY_PROXIMITY_NEAR_KM',
    default: 50,
    min: 1,
    max: 20_000,
  }),
  proximityFarKm: knob.int({
    env: 'QRELAY_PROXIMITY_FAR_KM',
    default: 500,
    min: 1,
    max: 20_000,
  }),
  farAction: knob.enum({
    env: 'QRELAY_POLICY_FAR_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'deny',
  }),
  inconsistentAction: knob.enum({
    env: 'QRELAY_POLICY_INCONSISTENT_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'step_up',
  }),
  farInconsistencyAction: knob.enum({
    env: 'QRELAY_POLICY_FAR_INCONSISTENCY_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'deny',
  }),
  approverMinAgeSeconds: knob.int({
    env: 'QRELAY_APPROVER_MIN_AGE_SECONDS',
    default: 900,
    min: 0,
    max: 31_536_000,
  }),
  approverMaxAuthAgeSeconds: knob.int({
    env: 'QRELAY_APPROVER_MAX_AUTH_AGE_SECONDS',
    default: 604_800,
    min: 60,
    max: 31_536_000,
  }),
  deviceActionMaxAuthAgeSeconds: knob.int({
    env: 'QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS',
    default: 86400,
    min: 60,
    max: 31_536_000,
  }),
  quarantineSeconds: knob.int({
    env: 'QRELAY_QUARANTINE_SECONDS',
    default: 86400,
    min: 0,
    max: 31_536_000,
  }),
  requireAuthenticatedCreator: knob.boolean({
    env: 'QRELAY_INITIATION_REQUIRE_AUTH',
    default: false,
  }),
  requireInitiationCode: knob.boolean({
    env: 'QRELAY_INITIATION_VERIFY_CODE',
    default: false,
  }),
  initiationCodeDigits: knob.int({
    env: 'QRELAY_INITIATION_CODE_DIGITS',
    default: 6,
    min: 4,
    max: 10,
  }),
} satisfies Section
