/**
 * The knobs of geolocation, abuse counters and the approval policy, in the README's order.
 */
import { knob, type Section } from '../knob.ts'

/** Offline geolocation for the proximity policy on Node (MaxMind DB files). */
export const geo = {
  cityMmdbPath: knob.optionalString({
    env: 'QRELAY_GEO_CITY_MMDB_PATH',
    doc: 'Node: a MaxMind DB city file (GeoLite2-City, DB-IP city lite…) giving coordinates and country to the proximity policy; unset: no geo distance (Workers use request.cf)',
  }),
  asnMmdbPath: knob.optionalString({
    env: 'QRELAY_GEO_ASN_MMDB_PATH',
    doc: 'Node: a MaxMind DB ASN file (GeoLite2-ASN…) giving the autonomous system to proximity and the abuse counters',
  }),
} satisfies Section

/** Abuse counters per network and the automatic, decaying deny (see `core/policy/abuse.ts`). */
export const abuse = {
  enabled: knob.boolean({
    env: 'QRELAY_ABUSE_ENABLED',
    default: true,
    doc: 'count abuse signals per network (channels created vs completed, refused joins, check-code aborts, declined approvals) and deny a network that trips them, for 10 min doubling per strike',
  }),
  windowSeconds: knob.int({
    env: 'QRELAY_ABUSE_WINDOW_SECONDS',
    default: 3600,
    min: 60,
    max: 86_400,
    doc: 'length of an abuse counting window',
  }),
  minCreatedForRatio: knob.int({
    env: 'QRELAY_ABUSE_MIN_CREATED_FOR_RATIO',
    default: 150,
    min: 1,
    max: 1_000_000,
    doc: 'channels a network must create in a window before fewer than 10 % completed counts as abuse (an ASN: ten times this); 150/h leaves room for 5 kiosks re-creating their QR every 2 min',
  }),
  maxRefusedJoins: knob.int({
    env: 'QRELAY_ABUSE_MAX_REFUSED_JOINS',
    default: 10,
    min: 1,
    max: 1_000_000,
    doc: 'refused joins of claimed channels per window that trip the deny',
  }),
  maxCheckCodeAborts: knob.int({
    env: 'QRELAY_ABUSE_MAX_CHECK_CODE_ABORTS',
    default: 5,
    min: 1,
    max: 1_000_000,
    doc: 'check-code mismatch strikes per window that trip the deny: one per abort as the reporter, one per distinct reporting network or ASN as the accused',
  }),
  maxDeclinedApprovals: knob.int({
    env: 'QRELAY_ABUSE_MAX_DECLINED_APPROVALS',
    default: 5,
    min: 1,
    max: 1_000_000,
    doc: 'declined or burnt QR logins (as the new device) per window that trip the deny',
  }),
  baseBlockSeconds: knob.int({
    env: 'QRELAY_ABUSE_BASE_BLOCK_SECONDS',
    default: 600,
    min: 1,
    max: 604_800,
    doc: 'deny after a first strike; doubles with each further strike (one strike is forgiven per 6 h)',
  }),
  maxBlockSeconds: knob.int({
    env: 'QRELAY_ABUSE_MAX_BLOCK_SECONDS',
    default: 86400,
    min: 1,
    max: 2_592_000,
    doc: 'longest automatic deny',
  }),
  notMeDenySeconds: knob.int({
    env: 'QRELAY_NOT_ME_DENY_SECONDS',
    default: 86400,
    min: 0,
    max: 2_592_000,
    doc: 'a device reported "not me" gets its last network denied this long for the reporting account (channel creation and approval); never the reporter\'s network nor one where the account\'s trusted devices were seen in the last 30 days',
  }),
  notMeGlobalAfterAccounts: knob.int({
    env: 'QRELAY_NOT_ME_GLOBAL_AFTER_ACCOUNTS',
    default: 3,
    min: 1,
    max: 1000,
    doc: 'distinct accounts whose "not me" reports name the same network before its deny applies to everybody',
  }),
  exemptLoopback: knob.boolean({
    env: 'QRELAY_ABUSE_EXEMPT_LOOPBACK',
    default: true,
    doc: 'never block loopback addresses (127.0.0.0/8, ::1) automatically or by "not me"',
  }),
  exemptTrustedNetworks: knob.boolean({
    env: 'QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS',
    default: false,
    doc: 'never block the QRELAY_POLICY_TRUSTED_NETWORKS automatically or by "not me" (e.g. an office NAT)',
  }),
} satisfies Section

/** Who may approve a QR login, from where, and what a doubt costs (see `src/core/policy`). */
export const policy = {
  trustedNetworks: knob.cidrList({
    env: 'QRELAY_POLICY_TRUSTED_NETWORKS',
    default: [],
    doc: 'comma-separated CIDRs where both devices may be without proof of proximity (e.g. the office): approvals from and to them skip the proximity step-up',
  }),
  deniedNetworks: knob.cidrList({
    env: 'QRELAY_POLICY_DENIED_NETWORKS',
    default: [],
    doc: 'comma-separated CIDRs refused for channel creation and QR approval (wins over trusted)',
  }),
  proximityAllowAtLeast: knob.enum({
    env: 'QRELAY_PROXIMITY_ALLOW_AT_LEAST',
    values: ['same_ip', 'same_prefix', 'nearby', 'regional', 'unknown'],
    default: 'nearby',
    doc: 'weakest proximity of the two devices approved without a step-up (same_ip > same_prefix > nearby > regional > unknown); a shared ASN alone ranks below regional and needs a step-up unless this is unknown (no proximity check)',
  }),
  proximityNearKm: knob.int({
    env: 'QRELAY_PROXIMITY_NEAR_KM',
    default: 50,
    min: 1,
    max: 20_000,
    doc: 'geo distance up to which two devices are nearby (needs geo data: request.cf or an mmdb file)',
  }),
  proximityFarKm: knob.int({
    env: 'QRELAY_PROXIMITY_FAR_KM',
    default: 500,
    min: 1,
    max: 20_000,
    doc: 'geo distance beyond which two devices are far apart',
  }),
  farAction: knob.enum({
    env: 'QRELAY_POLICY_FAR_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'deny',
    doc: 'what an approval costs when the two devices are far apart',
  }),
  inconsistentAction: knob.enum({
    env: 'QRELAY_POLICY_INCONSISTENT_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'step_up',
    doc: 'what an approval costs when the new device was seen from disagreeing networks',
  }),
  farInconsistencyAction: knob.enum({
    env: 'QRELAY_POLICY_FAR_INCONSISTENCY_ACTION',
    values: ['allow', 'step_up', 'deny'],
    default: 'deny',
    doc: 'what an approval costs when the new device was seen from networks far apart (a relayed QR code)',
  }),
  approverMinAgeSeconds: knob.int({
    env: 'QRELAY_APPROVER_MIN_AGE_SECONDS',
    default: 900,
    min: 0,
    max: 31_536_000,
    doc: 'an approving device must have been signed in at least this long',
  }),
  approverMaxAuthAgeSeconds: knob.int({
    env: 'QRELAY_APPROVER_MAX_AUTH_AGE_SECONDS',
    default: 604_800,
    min: 60,
    max: 31_536_000,
    doc: 'past this long since the user last proved a credential on the approving device, approval asks for the password again',
  }),
  deviceActionMaxAuthAgeSeconds: knob.int({
    env: 'QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS',
    default: 86400,
    min: 60,
    max: 31_536_000,
    doc: 'signing another device out or reporting it "not me" asks for the password again past this long since the user last proved a credential on the acting device (a QR-signed-in device: until it does)',
  }),
  quarantineSeconds: knob.int({
    env: 'QRELAY_QUARANTINE_SECONDS',
    default: 86400,
    min: 0,
    max: 31_536_000,
    doc: 'a QR-minted session cannot change the password, manage 2FA, approve logins or sign out / report / rename another device for this long (0: never quarantined)',
  }),
  requireAuthenticatedCreator: knob.boolean({
    env: 'QRELAY_INITIATION_REQUIRE_AUTH',
    default: false,
    doc: 'authenticate-then-initiate: only signed-in devices may create native and MSC4388 channels (so the existing device shows the QR code; MSC4108 2024 has no authentication and stays open)',
  }),
  requireInitiationCode: knob.boolean({
    env: 'QRELAY_INITIATION_VERIFY_CODE',
    default: false,
    doc: 'request-initiation verification: an approval shows the approver a code that must be typed on the new device before it gets its session',
  }),
  initiationCodeDigits: knob.int({
    env: 'QRELAY_INITIATION_CODE_DIGITS',
    default: 6,
    min: 4,
    max: 10,
    doc: 'digits of the request-initiation code (5 wrong entries burn it)',
  }),
} satisfies Section
