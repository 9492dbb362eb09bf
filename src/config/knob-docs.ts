/**
 * The doc line of every knob (the configuration table of docs/configuration.md, `configTable`), by
 * variable, in the declaration's order. Kept apart from the declaration (`knobs/*.ts`) so that a
 * runtime that only parses the configuration does not carry them: the Worker's script leaves them out.
 */
export const KNOB_DOCS: Readonly<Record<`QRELAY_${string}`, string>> = {
  // server
  QRELAY_HOST: 'address to listen on',
  QRELAY_PORT: 'TCP port to listen on (0 = any free port)',
  QRELAY_PUBLIC_BASE_URL:
    'public URL of this server: every URL it hands out and every DPoP htu check uses it; required unless QRELAY_HOST is a loopback address (then, unset, only requests to a loopback Host are answered)',
  QRELAY_SHUTDOWN_GRACE_MS: 'how long a shutdown waits for requests in flight',
  QRELAY_HEADERS_TIMEOUT_MS: 'Node: a client that has not sent its request headers within this time is answered 408 and disconnected',
  QRELAY_REQUEST_TIMEOUT_MS:
    'Node: a client that has not sent its whole request (headers and body) within this time is answered 408 and disconnected; at least QRELAY_HEADERS_TIMEOUT_MS',
  QRELAY_KEEP_ALIVE_TIMEOUT_MS: 'Node: an idle keep-alive connection is closed after this time',
  QRELAY_MAX_CONNECTIONS_PER_ADDRESS:
    'Node: open connections (WebSockets included) one client (an IPv4 address or an IPv6 /64; an IPv6 /56 and /48 hold the IPv6 factors times as many) may hold; more are closed at once (trusted proxies are exempt when QRELAY_TRUSTED_PROXY_HEADER is set)',
  QRELAY_TRUSTED_PROXY_HEADER:
    'header holding the client address, set by a trusted proxy (x-forwarded-for, x-real-ip, forwarded); default: the socket address',
  QRELAY_TRUSTED_PROXIES: 'comma-separated addresses/CIDRs of proxies whose header is believed',
  QRELAY_LOG_LEVEL: 'log level (logs are JSON lines on stdout)',
  QRELAY_LOG_HASH_KEY: 'hex key of the keyed hash that stands for ids and tokens in logs; set it to correlate logs across processes',
  QRELAY_METRICS_ENABLED: 'Node: serve GET /metrics in the Prometheus text format (docs/metrics.md); off: no endpoint and no metrics kept',
  QRELAY_METRICS_TOKEN:
    'bearer token GET /metrics asks for (at least 32 characters, secret); unset: anyone who reaches the endpoint may scrape it',
  // storage
  QRELAY_STORE: 'ephemeral store: memory (one process) or redis (many processes)',
  QRELAY_REDIS_URL: 'Redis URL, required when QRELAY_STORE=redis',
  QRELAY_REDIS_TLS_CA_FILE:
    'PEM file of the CAs that Redis certificates are checked against with a rediss:// URL (data nodes and sentinels); unset: the CA store of Node',
  QRELAY_REDIS_KEY_PREFIX: 'prefix of every Redis key',
  QRELAY_REDIS_COMMAND_TIMEOUT_MS:
    'how long one Redis command may take (also while Redis is unreachable) before the request answers 503 with Retry-After',
  QRELAY_DATA_DIR: 'directory of the embedded SQLite file and generated keys',
  QRELAY_MEMORY_MAX_COUNTERS:
    'most counters (rate limits, guess budgets, DPoP replay marks, abuse signals) the memory store holds at once; beyond it the expired go, then the oldest of the kind that holds the most',
  QRELAY_MEMORY_SWEEP_INTERVAL_MS: 'how often the memory store frees expired entries (expiry itself is exact)',
  // rendezvous
  QRELAY_MSC4108_ENABLED: 'serve the MSC4108 2024 (ETag) rendezvous API',
  QRELAY_MSC4388_ENABLED: 'serve the MSC4388 (sequence token) rendezvous API',
  QRELAY_NATIVE_ENABLED: 'serve the native two-party /v1/rendezvous API',
  QRELAY_MSC4108_TTL_SECONDS: 'lifetime of an MSC4108 channel (clients arm timers from Expires: keep ≥ 60)',
  QRELAY_MSC4388_TTL_SECONDS: 'lifetime of an MSC4388 channel (the MSC says 120–300)',
  QRELAY_NATIVE_TTL_SECONDS: 'lifetime of a native channel',
  QRELAY_MAX_PAYLOAD_BYTES: 'largest payload, in UTF-8 bytes',
  QRELAY_CHANNEL_ID_KEYS:
    'comma-separated hex keys (32 to 64 bytes) that tag channel ids so made-up ids are refused before any storage, the first mints, all verify (secret; rotate by prepending, drop the old key after the longest channel TTL); empty: generated once and shared through Redis or the Workers key object, or per process on the memory store',
  QRELAY_MAX_LIVE_CHANNELS: 'live channels beyond which creation is refused (never evicts)',
  // websocket
  QRELAY_WS_ENABLED: 'serve GET /v1/rendezvous/{id}/ws, the WebSocket transport of native channels (with QRELAY_NATIVE_ENABLED)',
  QRELAY_WS_HELLO_TIMEOUT_MS: 'how long a new WebSocket may take to send its hello frame before it is closed (4401)',
  QRELAY_WS_IDLE_TIMEOUT_MS: 'a WebSocket with no frame either way (pings included) for this long is closed (4408)',
  // network
  QRELAY_NETWORK_IPV4_PREFIX_BITS: 'IPv4 prefix length that counts as "the same network" (channel tickets, proximity)',
  QRELAY_NETWORK_IPV6_PREFIX_BITS: 'IPv6 prefix length that counts as "the same network"',
  // tickets
  QRELAY_TICKET_SIGNING_JWKS:
    'JWK set (JSON) of the channel-ticket signing keys, the first signs, the others stay published (secret); unset: an Ed25519 key generated on first start in <data dir>/signing-keys.json — set it when several processes serve',
  QRELAY_TICKET_RETIRED_KEY_TTL_SECONDS: 'how long a rotated-out ticket key stays published at /oauth2/jwks',
  // webhooks
  QRELAY_WEBHOOK_URL:
    'http(s) URL that receives every security event of every account as a signed POST (Standard Webhooks); unset: no webhooks',
  QRELAY_WEBHOOK_SECRET:
    'signing secret of the webhooks, whsec_ followed by the base64 of 24 to 64 random bytes (secret); required with QRELAY_WEBHOOK_URL',
  QRELAY_WEBHOOK_MAX_ATTEMPTS: 'delivery attempts of one webhook before it is dead-lettered (kept in the outbox, counted)',
  QRELAY_WEBHOOK_TIMEOUT_MS: 'how long one delivery attempt may take before it counts as failed',
  QRELAY_WEBHOOK_BACKOFF_BASE_MS: 'delay before the first retry; doubled per attempt, minus up to 25 % jitter',
  QRELAY_WEBHOOK_BACKOFF_MAX_MS: 'longest delay between two attempts',
  QRELAY_WEBHOOK_POLL_INTERVAL_MS: 'how often the delivery worker looks for due webhooks (new events are sent at once)',
  // rateLimit
  QRELAY_RATE_CREATE_PER_CLIENT: 'channel creations per client address (IPv6: per /64)',
  QRELAY_RATE_READS_PER_CHANNEL: 'reads of one channel (clients poll about once a second each)',
  QRELAY_RATE_WRITES_PER_CHANNEL: 'writes and deletes of one channel',
  QRELAY_RATE_REFUSED_PER_CLIENT: 'refused joins of claimed channels per client before it is shut out of the relay',
  QRELAY_RATE_IPV6_56_FACTOR:
    'an IPv6 /56 (one home on many ISPs) may use this many /64 budgets in all of channel creations, device authorizations, registrations and registration checks (each /64 keeps its own)',
  QRELAY_RATE_IPV6_48_FACTOR:
    'an IPv6 /48 (one organisation or hosting customer) may use this many /64 budgets in all of the same limits: it bounds what one /48 takes of QRELAY_MAX_LIVE_CHANNELS (docs/security/channels.md)',
  // auth
  QRELAY_ARGON2_MEMORY_KIB: 'argon2id memory cost of new password hashes (older hashes are rehashed at the next login)',
  QRELAY_ARGON2_ITERATIONS: 'argon2id passes over memory',
  QRELAY_ARGON2_PARALLELISM: 'argon2id lanes',
  QRELAY_PASSWORD_MIN_LENGTH: 'fewest characters of a new password (common passwords are refused whatever their length)',
  QRELAY_ACCESS_TOKEN_TTL_SECONDS: 'lifetime of an access token',
  QRELAY_REFRESH_TOKEN_TTL_SECONDS: 'absolute lifetime of a refresh-token family (a device session)',
  QRELAY_REFRESH_GRACE_MS:
    'a just-rotated refresh token presented again within this time is a concurrent duplicate (refused, nothing revoked) rather than a replay',
  QRELAY_MAX_DEVICES_PER_ACCOUNT:
    'signed-in devices one account may hold (password and QR sign-ins alike); at the cap the devices that can no longer refresh are signed out, and if none can go the sign-in is refused with 403 M_FORBIDDEN until one is signed out',
  QRELAY_UIA_SESSION_TTL_SECONDS: 'lifetime of a user-interactive auth session',
  QRELAY_UIA_KEY: 'hex key binding UIA sessions to their request; random per process when unset — set it when several processes serve',
  QRELAY_REGISTRATION_ENABLED: 'let anyone create an account with POST /v1/register',
  QRELAY_ADMIN_TOKEN:
    'bearer token of POST /v1/admin/users and /v1/admin/abuse (lift a network block) (at least 32 characters, secret); unset: no admin endpoint',
  QRELAY_SECRETS_KEYS:
    'keys sealing TOTP secrets at rest (XChaCha20-Poly1305): comma-separated "<key id>:<64 hex digits>", the first seals, the others only open (rotation: put the new key first; values re-seal when used) (secret); unset: a key generated on first start in <data dir>/secrets-keys (Workers: in the key object) — set it when several processes serve',
  QRELAY_TOTP_ISSUER: 'issuer name authenticator apps show for TOTP keys (no colon)',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT:
    'failed password, TOTP and recovery-code guesses per account from all untrusted clients together (no device-trust token or session, not a network of one of its devices); further ones get 429 unchecked',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_TRUSTED:
    'failed guesses per account from trusted clients together (device-trust tokens, signed-in devices, networks of its devices); with the untrusted limit, bounds all checked guesses at an account',
  QRELAY_RATE_AUTH_FAILURES_PER_ACCOUNT_NETWORK:
    'failed guesses per (account, client network) for clients without a device-trust token or session',
  QRELAY_RATE_AUTH_FAILURES_PER_CLIENT:
    'failed guesses per client network across accounts, for clients without a device-trust token or session',
  QRELAY_RATE_AUTH_FAILURES_PER_TRUSTED_DEVICE:
    'failed guesses per device-trust token or signed-in device (their own budget: not locked out by failures elsewhere)',
  QRELAY_DEVICE_TRUST_TTL_SECONDS:
    'lifetime of the device_trust token a password sign-in returns (renewed at each sign-in that presents it)',
  QRELAY_RATE_DEVICE_TRUST_PER_ACCOUNT:
    'new device_trust tokens one account is handed (a renewal of the token a client sent is not counted); each is stored for its lifetime, so beyond this a sign-in goes on without one',
  QRELAY_RATE_REGISTER_PER_CLIENT: 'accounts created by open registration per client address',
  QRELAY_RATE_REGISTER_CHECKS_PER_CLIENT:
    'open registration requests that look a username up, per client address (each tells whether the name is taken); further ones get 429 before the look-up',
  QRELAY_RATE_UIA_STARTS_PER_CLIENT:
    'new user-interactive auth sessions (the first 401 of a login, a registration or a step-up, each stored until it expires) per client address, and for IPv6 per /56 and /48 by the IPv6 factors; further ones get 429',
  QRELAY_RATE_RENAMES_PER_DEVICE:
    'device renames one signed-in device may make (of itself or another device); each is reported in the account feed (the newest 100 events, 7 days), so a session cannot push older events out of it with renames, even paced over days; further ones get 429',
  // oauth
  QRELAY_GRANT_TTL_SECONDS: 'lifetime of a device authorization grant (its device code and user code)',
  QRELAY_POLL_INTERVAL_SECONDS: 'polling interval the new device is told to keep at the token endpoint (RFC 8628; slow_down adds 5 s)',
  QRELAY_RATE_USER_CODE_PER_ACCOUNT:
    'user-code lookups and approvals per approving account, whatever their outcome (the primary bound on code guessing)',
  QRELAY_RATE_USER_CODE_PER_CLIENT:
    'failed user-code lookups (unknown or expired codes) per client address before the address is refused for the rest of the window; valid lookups do not count, so colleagues behind one NAT do not refuse each other',
  QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT:
    'device authorization requests (new QR logins) per client address (an office behind one NAT shares it)',
  QRELAY_RATE_TOKEN_PER_CLIENT:
    'token endpoint requests (polls and refreshes) per client address; each grant is held to its polling interval by slow_down already, so this only caps an address: 1200/60s lets 100 devices behind one NAT poll every 5 s',
  QRELAY_DPOP_NONCE:
    'RFC 9449 server nonces: DPoP proofs at /oauth2/token (and at /oauth2/device_authorization when one is sent) must carry the DPoP-Nonce the server hands out (400 use_dpop_nonce otherwise; clients retry once); nonces are stateless, keyed from QRELAY_UIA_KEY — set it when several processes serve',
  QRELAY_INTROSPECTION_CLIENTS:
    'resource servers allowed to call POST /oauth2/introspect (RFC 7662) with HTTP Basic: comma-separated "<client id>:<secret>" (secrets ≥ 32 characters); empty: no introspection endpoint',
  // geo
  QRELAY_GEO_CITY_MMDB_PATH:
    'Node: a MaxMind DB city file (GeoLite2-City, DB-IP city lite…) giving coordinates and country to the proximity policy; unset: no geo distance (Workers use request.cf)',
  QRELAY_GEO_ASN_MMDB_PATH: 'Node: a MaxMind DB ASN file (GeoLite2-ASN…) giving the autonomous system to proximity and the abuse counters',
  // abuse
  QRELAY_ABUSE_ENABLED:
    'count abuse signals per network (channels created vs completed, refused joins, check-code aborts, declined approvals) and deny a network that trips them, for 10 min doubling per strike',
  QRELAY_ABUSE_WINDOW_SECONDS: 'length of an abuse counting window',
  QRELAY_ABUSE_MIN_CREATED_FOR_RATIO:
    'channels a network must create in a window before fewer than 10 % completed counts as abuse (an ASN: ten times this); 150/h leaves room for 5 kiosks re-creating their QR every 2 min',
  QRELAY_ABUSE_MAX_REFUSED_JOINS: 'refused joins of claimed channels per window that trip the deny',
  QRELAY_ABUSE_MAX_CHECK_CODE_ABORTS:
    'check-code mismatch strikes per window that trip the deny: one per abort as the reporter, one per distinct reporting network or ASN as the accused',
  QRELAY_ABUSE_MAX_DECLINED_APPROVALS: 'declined or burnt QR logins (as the new device) per window that trip the deny',
  QRELAY_ABUSE_BASE_BLOCK_SECONDS: 'deny after a first strike; doubles with each further strike (one strike is forgiven per 6 h)',
  QRELAY_ABUSE_MAX_BLOCK_SECONDS: 'longest automatic deny',
  QRELAY_NOT_ME_DENY_SECONDS:
    'a device reported "not me" gets its last network denied this long for the reporting account (channel creation and approval); never the reporter\'s network nor one where the account\'s trusted devices were seen in the last 30 days',
  QRELAY_NOT_ME_GLOBAL_AFTER_ACCOUNTS:
    'independent reporters whose "not me" reports name the same network before its deny applies to everybody: only established accounts count (QRELAY_NOT_ME_GLOBAL_MIN_ACCOUNT_AGE_SECONDS), and accounts sharing a network (the reporters\' own, their trusted devices\' last) count once; never applied to an account with a trusted device seen on that network in the last 30 days',
  QRELAY_NOT_ME_GLOBAL_MIN_ACCOUNT_AGE_SECONDS:
    'a "not me" report counts toward the deny of everybody only when its account, and one of its trusted devices, have existed this long (7 days); other reports deny the network to their own account only',
  QRELAY_ABUSE_EXEMPT_LOOPBACK: 'never block loopback addresses (127.0.0.0/8, ::1) automatically or by "not me"',
  QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS: 'never block the QRELAY_POLICY_TRUSTED_NETWORKS automatically or by "not me" (e.g. an office NAT)',
  // policy
  QRELAY_POLICY_TRUSTED_NETWORKS:
    'comma-separated CIDRs where both devices may be without proof of proximity (e.g. the office): approvals from and to them skip the proximity step-up',
  QRELAY_POLICY_DENIED_NETWORKS: 'comma-separated CIDRs refused for channel creation and QR approval (wins over trusted)',
  QRELAY_PROXIMITY_ALLOW_AT_LEAST:
    'weakest proximity of the two devices approved without a step-up (same_ip > same_prefix > nearby > regional > unknown); a shared ASN alone ranks below regional and needs a step-up unless this is unknown (no proximity check)',
  QRELAY_PROXIMITY_NEAR_KM: 'geo distance up to which two devices are nearby (needs geo data: request.cf or an mmdb file)',
  QRELAY_PROXIMITY_FAR_KM: 'geo distance beyond which two devices are far apart',
  QRELAY_POLICY_FAR_ACTION: 'what an approval costs when the two devices are far apart',
  QRELAY_POLICY_INCONSISTENT_ACTION: 'what an approval costs when the new device was seen from disagreeing networks',
  QRELAY_POLICY_FAR_INCONSISTENCY_ACTION: 'what an approval costs when the new device was seen from networks far apart (a relayed QR code)',
  QRELAY_APPROVER_MIN_AGE_SECONDS: 'an approving device must have been signed in at least this long',
  QRELAY_APPROVER_MAX_AUTH_AGE_SECONDS:
    'past this long since the user last proved a credential on the approving device, approval asks for the password again',
  QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS:
    'signing another device out, renaming it or reporting it "not me" asks for the password again past this long since the user last proved a credential on the acting device (a QR-signed-in device: until it does)',
  QRELAY_QUARANTINE_SECONDS:
    'a QR-minted session cannot change the password, manage 2FA, approve logins or sign out / report / rename another device for this long (0: never quarantined)',
  QRELAY_INITIATION_REQUIRE_AUTH:
    'authenticate-then-initiate: only signed-in devices may create native and MSC4388 channels (so the existing device shows the QR code; MSC4108 2024 has no authentication and stays open)',
  QRELAY_INITIATION_VERIFY_CODE:
    'request-initiation verification: an approval shows the approver a code that must be typed on the new device before it gets its session',
  QRELAY_INITIATION_CODE_DIGITS: 'digits of the request-initiation code (5 wrong entries burn it)',
}
