/**
 * fast-check arbitraries for every route family of qrelay: rendezvous (MSC4108 2024, MSC4388,
 * native incl. the WebSocket upgrade path), OAuth (token, device authorization, device verification,
 * revoke, introspect, metadata, JWKS), accounts (login, register, admin, logout, whoami, password,
 * TOTP, recovery codes), approvals, devices, events and health. A case is built from the real state
 * (real channel ids, tokens, user codes, DPoP proofs), then mutated, or is plain garbage; the body
 * goes on the wire with honest, lying or chunked framing (see raw-http.ts).
 */
import fc from 'fast-check'
import type { Framing } from './raw-http.ts'
import {
  FUZZ_ADMIN_TOKEN,
  FUZZ_INTROSPECTION_BASIC,
  FUZZ_PASSWORD,
  MSC4108_PREFIX,
  MSC4388_PREFIX,
  NATIVE_PREFIX,
  type FuzzState,
} from './state.ts'

/** Which real value a placeholder stands for (resolved against the state when the case runs). */
export type Ref =
  | 'accessToken'
  | 'refreshToken'
  | 'deviceId'
  | 'deviceCode'
  | 'userCode'
  | 'binding'
  | 'jkt'
  | 'username'
  | 'password'
  | 'msc4108Id'
  | 'msc4108Etag'
  | 'msc4388Id'
  | 'msc4388Seq'
  | 'nativeId'
  | 'nativeSeq'
  | 'creatorSecret'
  | 'ticket'
  | 'proof0'
  | 'proof1'
  | 'proof2'

/** A string template: literal parts and references to the state, joined when the case runs. */
export type Tpl = ReadonlyArray<string | { ref: Ref; mutate?: Mutation }>

/** How a real value is damaged. */
export type Mutation = 'none' | 'truncate' | 'flip' | 'append' | 'upper' | 'empty' | 'double' | 'split-dot'

/** One generated case (plain data, so fast-check can print and shrink it). */
export interface FuzzCase {
  family: string
  method: string
  path: Tpl
  headers: ReadonlyArray<readonly [string, Tpl]>
  body: { kind: 'text'; text: Tpl } | { kind: 'bytes'; bytes: readonly number[] }
  framing: Framing
}

/** Percent-encodes `s` (lone surrogates become U+FFFD first, as encodeURIComponent refuses them). */
const enc = (s: string): string => encodeURIComponent((s as string & { toWellFormed(): string }).toWellFormed())

const ref = (r: Ref, mutate: Mutation = 'none') => ({ ref: r, mutate })

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Mutation>('none') },
  { weight: 4, arbitrary: fc.constantFrom<Mutation>('truncate', 'flip', 'append', 'upper', 'empty', 'double', 'split-dot') },
)
const refOf = (...refs: Ref[]) => fc.tuple(fc.constantFrom(...refs), mutation).map(([r, m]) => ref(r, m))

/** Hostile strings: unicode, control characters, huge, homoglyphs of user codes, percent-encodings. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '%00',
    '%',
    '%zz',
    '..',
    '../..',
    '\u202e',
    'ＡＢＣＤ-ＥＦＧＨ',
    'ABCD-EFGH',
    'abcd efgh',
    'İ',
    'ß',
    '\ud800',
    '💥💥',
    'a'.repeat(5000),
    '__proto__',
    'constructor',
    'null',
    'true',
    '-1',
    '1e400',
    '0x10',
  ),
)
const hostileNumber: fc.Arbitrary<string> = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '-0',
  '0.0000000000000000001',
  '9007199254740993',
  'NaN',
  'Infinity',
  '1_000',
  '01',
)

/** JSON text: valid values, deep and wide nesting, duplicate and `__proto__` keys, huge numbers, broken text. */
const jsonText = (fields: fc.Arbitrary<Tpl>): fc.Arbitrary<Tpl> =>
  fc.oneof(
    { weight: 5, arbitrary: fields },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => [JSON.stringify(v) ?? 'null']) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => ['['.repeat(n) + ']'.repeat(n)]) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => ['{"a":'.repeat(n) + '1' + '}'.repeat(n)]) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => [`{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`]),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{"data":"a","data":"b"}',
          '{"__proto__":{"admin":true},"data":"x"}',
          '{"constructor":{"prototype":{"x":1}}}',
          '{"username":"a","username":{"__proto__":null}}',
          '{"decision":"approve","decision":"decline"}',
        )
        .map((t) => [t]),
    },
    { weight: 1, arbitrary: hostileNumber.map((n) => [`{"data":${n},"sequence_token":${n},"expires_in":${n}}`]) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{', '{"a":', 'nul', '[1,]', '{"a":1}}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}')
        .map((t) => [t]),
    },
  )

const obj = (entries: fc.Arbitrary<ReadonlyArray<readonly [string, Tpl]>>): fc.Arbitrary<Tpl> =>
  entries.map((pairs) => {
    const out: Array<string | { ref: Ref; mutate?: Mutation }> = ['{']
    pairs.forEach(([k, v], i) => {
      out.push(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:"`, ...v, '"')
    })
    out.push('}')
    return out
  })
const field = (name: string, value: fc.Arbitrary<Tpl>) =>
  fc.option(
    value.map((v) => [name, v] as const),
    { nil: undefined, freq: 4 },
  )
const fields = (...fs: ReturnType<typeof field>[]) =>
  obj(fc.tuple(...fs).map((xs) => xs.filter((x) => x !== undefined) as Array<readonly [string, Tpl]>))
const str = (...refs: Ref[]): fc.Arbitrary<Tpl> =>
  fc.oneof(
    { weight: 3, arbitrary: refOf(...refs).map((r) => [r]) },
    { weight: 1, arbitrary: hostileString.map((s) => [JSON.stringify(s).slice(1, -1)]) },
  )

const formText = (names: ReadonlyArray<readonly [string, fc.Arbitrary<Tpl>]>): fc.Arbitrary<Tpl> =>
  fc
    .tuple(
      ...names.map(([n, v]) =>
        fc.option(
          v.map((x) => [n, x] as const),
          { nil: undefined, freq: 4 },
        ),
      ),
    )
    .map((pairs) => {
      const out: Array<string | { ref: Ref; mutate?: Mutation }> = []
      for (const p of pairs) {
        if (p === undefined) continue
        if (out.length > 0) out.push('&')
        out.push(`${p[0]}=`, ...p[1])
      }
      return out
    })
const GRANT_TYPES = fc.constantFrom(
  'urn:ietf:params:oauth:grant-type:device_code',
  'refresh_token',
  'authorization_code',
  'password',
  '',
  'urn:ietf:params:oauth:grant-type:device_code%00',
)
const lit = (a: fc.Arbitrary<string>): fc.Arbitrary<Tpl> => a.map((s) => [s])

/** Route families: path template, methods that make sense, and the body shapes of that family. */
interface Family {
  name: string
  path: fc.Arbitrary<Tpl>
  methods: readonly string[]
  body: fc.Arbitrary<Tpl>
  contentType: string
}

const id = (...refs: Ref[]): fc.Arbitrary<Tpl> =>
  fc.oneof(
    { weight: 4, arbitrary: refOf(...refs).map((r) => [r]) },
    { weight: 1, arbitrary: hostileString.map((s) => [enc(s)]) },
    { weight: 1, arbitrary: hostileString.map((s) => [s.replace(/[\s?#]/g, '')]) },
  )

const families: Family[] = [
  {
    name: 'msc4108',
    path: fc.oneof(
      lit(fc.constant(MSC4108_PREFIX)),
      id('msc4108Id', 'msc4388Id', 'nativeId').map((t) => [`${MSC4108_PREFIX}/`, ...t]),
    ),
    methods: ['POST', 'GET', 'PUT', 'DELETE', 'PATCH'],
    body: fc.oneof(lit(fc.string({ maxLength: 200 })), lit(fc.base64String({ maxLength: 200 }))),
    contentType: 'text/plain',
  },
  ...(
    [
      ['msc4388', MSC4388_PREFIX, 'msc4388Seq'],
      ['native', NATIVE_PREFIX, 'nativeSeq'],
    ] as const
  ).map(([name, prefix, seq]) => ({
    name,
    path: fc.oneof(
      lit(fc.constant(prefix)),
      id('msc4388Id', 'nativeId', 'msc4108Id').map((t) => [`${prefix}/`, ...t]),
      id('nativeId', 'msc4388Id').map((t) => [`${prefix}/`, ...t, '/abort']),
      id('nativeId', 'msc4388Id').map((t) => [`${prefix}/`, ...t, '/ws']),
    ),
    methods: ['POST', 'GET', 'PUT', 'DELETE'],
    body: jsonText(
      fields(
        field('data', str('ticket', 'binding')),
        field('sequence_token', str(seq, 'msc4388Seq', 'nativeSeq')),
        field('reason', lit(fc.constantFrom('user_cancelled', 'check_code_mismatch', 'x'))),
      ),
    ),
    contentType: 'application/json',
  })),
  {
    name: 'oauth-token',
    path: lit(
      fc.constantFrom(
        '/oauth2/token',
        '/oauth2/revoke',
        '/oauth2/introspect',
        '/oauth2/device_authorization',
        '/oauth2/device_verification',
        '/oauth2/device/verify',
      ),
    ),
    methods: ['POST', 'GET', 'PUT'],
    body: formText([
      ['grant_type', lit(GRANT_TYPES)],
      ['device_code', str('deviceCode', 'userCode')],
      ['refresh_token', str('refreshToken', 'accessToken')],
      ['token', str('accessToken', 'refreshToken', 'deviceCode')],
      ['token_type_hint', lit(fc.constantFrom('access_token', 'refresh_token', 'x'))],
      ['channel_binding', str('binding')],
      ['device_name', lit(hostileString.map(enc))],
      ['client_id', lit(hostileString.map(enc))],
      ['code', lit(fc.constantFrom('123456', '', 'abc'))],
      ['dpop_jkt', str('jkt')],
    ]),
    contentType: 'application/x-www-form-urlencoded',
  },
  {
    name: 'oauth-meta',
    path: lit(
      fc.constantFrom('/oauth2/jwks', '/.well-known/oauth-authorization-server', '/_matrix/client/versions', '/healthz', '/readyz'),
    ),
    methods: ['GET', 'POST', 'HEAD', 'OPTIONS'],
    body: lit(fc.constant('')),
    contentType: 'text/plain',
  },
  {
    name: 'accounts',
    path: fc.oneof(
      lit(
        fc.constantFrom(
          '/v1/login',
          '/v1/register',
          '/v1/admin/users',
          '/v1/logout',
          '/v1/account/whoami',
          '/v1/account/password',
          '/v1/account/totp',
          '/v1/account/totp/confirm',
          '/v1/account/recovery-codes',
        ),
      ),
      id('username').map((t) => ['/v1/admin/users/', ...t, '/disable']),
    ),
    methods: ['POST', 'GET', 'DELETE', 'PUT'],
    body: jsonText(
      fields(
        field('username', str('username')),
        field('password', str('password')),
        field('new_password', str('password')),
        field('initial_device_display_name', lit(hostileString.map((s) => JSON.stringify(s).slice(1, -1)))),
        field('code', lit(fc.constantFrom('123456', '000000', 'abcd-efgh'))),
      ),
    ),
    contentType: 'application/json',
  },
  {
    name: 'approvals-devices-events',
    path: fc.oneof(
      id('userCode').map((t) => ['/v1/approvals/', ...t]),
      lit(
        fc.constantFrom(
          '/v1/devices',
          '/v1/events',
          '/v1/events?since=0',
          '/v1/events?since=-1',
          '/v1/events?since=1e400',
          '/v1/events?since=abc',
        ),
      ),
      id('deviceId').map((t) => ['/v1/devices/', ...t]),
      id('deviceId').map((t) => ['/v1/devices/', ...t, '/not-me']),
    ),
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    body: jsonText(
      fields(
        field('decision', lit(fc.constantFrom('approve', 'decline', 'APPROVE', ''))),
        field('channel_binding', str('binding')),
        field('dpop_jkt', str('jkt')),
        field('display_name', lit(hostileString.map((s) => JSON.stringify(s).slice(1, -1)))),
      ),
    ),
    contentType: 'application/json',
  },
]

/** Pure garbage paths. */
const garbagePath: fc.Arbitrary<Tpl> = fc.oneof(
  hostileString.map((s) => [`/${enc(s)}`]),
  fc
    .constantFrom(
      '/',
      '//v1//login',
      '/v1/../v1/login',
      '/%2e%2e/readyz',
      '/v1/rendezvous/%00',
      '/v1/login?x=%ff',
      '*',
      '/' + 'a/'.repeat(2000),
      '/v1/approvals/%F0%9F%92%A5',
      '/v1/approvals/ABCD%20EFGH',
    )
    .map((p) => [p]),
)

const authHeader: fc.Arbitrary<Tpl> = fc.oneof(
  refOf('accessToken', 'refreshToken', 'creatorSecret', 'deviceCode').map((r) => ['Bearer ', r]),
  refOf('accessToken').map((r) => ['DPoP ', r]),
  lit(
    fc.constantFrom(
      FUZZ_INTROSPECTION_BASIC,
      `Bearer ${FUZZ_ADMIN_TOKEN}`,
      'Basic Og==',
      'Basic ???',
      'Bearer',
      'Bearer  ',
      'bearer x.y',
      'Negotiate abc',
      'Bearer ' + 'x'.repeat(9000),
    ),
  ),
  hostileString.map((s) => [`Bearer ${s}`]),
)
const headerPool: ReadonlyArray<fc.Arbitrary<readonly [string, Tpl]>> = [
  authHeader.map((v) => ['Authorization', v] as const),
  fc
    .oneof(
      refOf('proof0', 'proof1', 'proof2').map((r) => [r] as Tpl),
      lit(fc.constantFrom('e30.e30.', 'a.b.c', '', 'x'.repeat(9000))),
    )
    .map((v) => ['DPoP', v] as const),
  fc
    .oneof(
      refOf('msc4108Etag').map((r) => [r] as Tpl),
      lit(fc.constantFrom('*', '"x"', 'W/"1"', '', '"' + 'x'.repeat(300) + '"')),
    )
    .map((v) => ['If-Match', v] as const),
  lit(fc.constantFrom('same-origin', 'cross-site', 'same-site', 'none', 'x')).map((v) => ['Sec-Fetch-Site', v] as const),
  lit(fc.constantFrom('navigate', 'cors', 'no-cors', 'websocket', 'x')).map((v) => ['Sec-Fetch-Mode', v] as const),
  lit(fc.constantFrom('document', 'empty', 'iframe', 'x')).map((v) => ['Sec-Fetch-Dest', v] as const),
  lit(fc.constantFrom('?1', '?0')).map((v) => ['Sec-Fetch-User', v] as const),
  lit(fc.constantFrom('evil.example', 'relay.example', '', '127.0.0.1:1', 'a'.repeat(300), '[::1]')).map((v) => ['Host', v] as const),
  lit(fc.constantFrom('https://evil.example', 'null', 'https://relay.example')).map((v) => ['Origin', v] as const),
  lit(fc.constantFrom('1.2.3.4', '::1', 'garbage', '10.0.0.1, 1.1.1.1')).map((v) => ['X-Forwarded-For', v] as const),
  lit(fc.constantFrom('websocket', 'h2c', 'WebSocket')).map((v) => ['Upgrade', v] as const),
  // Next to the client's own `Connection: close`: makes Node hand the request to the upgrade listener.
  lit(fc.constantFrom('Upgrade', 'upgrade, keep-alive')).map((v) => ['Connection', v] as const),
  lit(fc.constantFrom('dGhlIHNhbXBsZSBub25jZQ==', '', 'x')).map((v) => ['Sec-WebSocket-Key', v] as const),
  lit(fc.constantFrom('13', '8', 'x')).map((v) => ['Sec-WebSocket-Version', v] as const),
  lit(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x')).map((v) => ['Content-Encoding', v] as const),
  lit(fc.constantFrom('application/json', '*/*', 'text/html')).map((v) => ['Accept', v] as const),
]

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/jwt',
  '',
  'application/json, text/plain',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded; charset=utf-16',
)

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Framing>({ kind: 'length' }) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: -50, max: 50 })
      .filter((d) => d !== 0)
      .map((delta): Framing => ({ kind: 'lying-length', delta })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ size: fc.integer({ min: 1, max: 64 }), broken: fc.boolean() }).map((r): Framing => ({ kind: 'chunked', ...r })),
  },
  { weight: 1, arbitrary: fc.constantFrom<Framing>({ kind: 'both' }, { kind: 'none' }) },
)

const invalidUtf8: fc.Arbitrary<readonly number[]> = fc.oneof(
  fc.constantFrom(
    [0xff, 0xfe],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d],
    [0xef, 0xbb, 0xbf, 0x7b, 0x7d],
  ),
  fc.uint8Array({ maxLength: 300 }).map((a) => [...a]),
)

/** `arb` in `yes` of `yes + no` cases, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>, yes: number, no: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: no, arbitrary: fc.constant(undefined) }, { weight: yes, arbitrary: arb })

const METHODS = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'CONNECT', 'get')

/** One case aimed at `family` (real values, mutated) or garbage. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...families) }, { weight: 1, arbitrary: fc.constant<Family | undefined>(undefined) }),
    fc.nat(),
    sometimes(METHODS, 1, 5),
    sometimes(garbagePath, 1, 9),
    fc.subarray(
      headerPool.map((_, i) => i),
      { maxLength: 5 },
    ),
    fc.tuple(...headerPool),
    sometimes(contentTypes, 1, 4),
    fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: invalidUtf8 }),
    framing,
    sometimes(authHeader, 2, 1),
  )
  .chain(([family, pick, method, garbage, headerIdx, headerValues, contentType, bytes, frame, auth]) => {
    const fam = family ?? (families[pick % families.length] as Family)
    return fc.tuple(fam.path, fam.body).map(([path, body]): FuzzCase => {
      const headers: Array<readonly [string, Tpl]> = headerIdx.map((i) => headerValues[i] as readonly [string, Tpl])
      if (auth !== undefined && !headerIdx.includes(0)) headers.push(['Authorization', auth])
      headers.push(['Content-Type', [contentType ?? fam.contentType]])
      return {
        family: family === undefined ? 'garbage' : fam.name,
        method: method ?? (fam.methods[pick % fam.methods.length] as string),
        path: garbage ?? path,
        headers,
        body: bytes === undefined ? { kind: 'text', text: body } : { kind: 'bytes', bytes },
        framing: frame,
      }
    })
  })

const damage = (value: string, m: Mutation | undefined): string => {
  switch (m ?? 'none') {
    case 'none':
      return value
    case 'truncate':
      return value.slice(0, Math.max(0, value.length - 3))
    case 'flip':
      return value.length === 0 ? 'x' : value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')
    case 'append':
      return `${value}x`
    case 'upper':
      return value.toUpperCase() === value ? value.toLowerCase() : value.toUpperCase()
    case 'empty':
      return ''
    case 'double':
      return value + value
    case 'split-dot':
      return value.split('.').reverse().join('.')
  }
}

const refValue = (state: FuzzState, r: Ref): string => {
  switch (r) {
    case 'accessToken':
      return state.accessToken
    case 'refreshToken':
      return state.refreshToken
    case 'deviceId':
      return state.deviceId
    case 'deviceCode':
      return state.deviceCode
    case 'userCode':
      return state.userCode
    case 'binding':
      return state.binding
    case 'jkt':
      return state.holder.jkt
    case 'username':
      return state.username
    case 'password':
      return FUZZ_PASSWORD
    case 'msc4108Id':
      return state.msc4108.id
    case 'msc4108Etag':
      return state.msc4108.etag
    case 'msc4388Id':
      return state.msc4388.id
    case 'msc4388Seq':
      return state.msc4388.sequenceToken
    case 'nativeId':
      return state.native.id
    case 'nativeSeq':
      return state.native.sequenceToken
    case 'creatorSecret':
      return state.native.creatorSecret
    case 'ticket':
      return state.native.ticket
    case 'proof0':
      return state.proofs[0] ?? ''
    case 'proof1':
      return state.proofs[1] ?? ''
    case 'proof2':
      return state.proofs[2] ?? ''
  }
}

/** Joins a template against the state. */
export const render = (tpl: Tpl, state: FuzzState): string =>
  tpl.map((part) => (typeof part === 'string' ? part : damage(refValue(state, part.ref), part.mutate))).join('')
