/**
 * `QRELAY_REDIS_URL` in its three topologies (docs/deploy-redis.md):
 *
 * - one Redis: `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS (ioredis reads the URL itself);
 * - Redis Cluster: `redis+cluster://[user:password@]host:port,host:port,…` (seed nodes; `rediss+cluster://` for TLS);
 * - Sentinel: `redis+sentinel://[user:password@]host:port,host:port,…/<master name>[/db]` (the sentinels;
 *   `rediss+sentinel://` for TLS to the sentinels and the data nodes; `?sentinel_auth=same` sends the
 *   URL's credentials to the sentinels too).
 *
 * Pure (no ioredis here): `config check` validates with {@link redisTarget}, and the runtime builds its
 * client from the same value (`src/adapters/storage/redis-client.ts`). No problem text repeats the URL,
 * which may carry a password.
 */

/** One `host:port`. */
export interface RedisNode {
  host: string
  port: number
}

/** Credentials and TLS, common to every topology. */
interface RedisAccess {
  tls: boolean
  username?: string
  password?: string
}

/** Where the runtime connects, as parsed from `QRELAY_REDIS_URL`. */
export type RedisTarget =
  | ({ kind: 'single'; url: string } & RedisAccess)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & RedisAccess)
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; masterName: string; db: number; sentinelAuth: boolean } & RedisAccess)

const SCHEME = /^(rediss?)(?:\+(cluster|sentinel))?:\/\/(.*)$/is

/** Parses `host`, `host:port`, `[v6]` or `[v6]:port`; a problem text when it is none of them. */
const nodeOf = (text: string, defaultPort: number): RedisNode | string => {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/i.exec(text)
  if (match === null) return 'has a malformed host'
  const port = match[2] === undefined ? defaultPort : Number(match[2])
  if (port < 1 || port > 65_535) return 'has a port outside 1-65535'
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port }
}

const decode = (text: string): string | null => {
  try {
    return decodeURIComponent(text)
  } catch {
    // A malformed %-escape: the caller reports the credentials as malformed.
    return null
  }
}

/** Splits `user:password@` from the authority; a problem text when the escapes are malformed. */
const accessOf = (authority: string): { rest: string; username?: string; password?: string } | string => {
  const at = authority.lastIndexOf('@')
  if (at < 0) return { rest: authority }
  const [rawUser = '', ...rawPassword] = authority.slice(0, at).split(':')
  const username = decode(rawUser)
  const password = rawPassword.length === 0 ? '' : decode(rawPassword.join(':'))
  if (username === null || password === null) return 'has malformed credentials'
  return { rest: authority.slice(at + 1), ...(username === '' ? {} : { username }), ...(password === '' ? {} : { password }) }
}

/** Parses a comma-separated node list; a problem text on the first bad one. */
const nodesOf = (list: string, defaultPort: number): RedisNode[] | string => {
  const nodes: RedisNode[] = []
  for (const part of list.split(',')) {
    const node = nodeOf(part.trim(), defaultPort)
    if (typeof node === 'string') return node
    nodes.push(node)
  }
  return nodes
}

/**
 * The topology `raw` names, or a problem (after the variable's name) when it is malformed.
 *
 * @example
 * redisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7000') // { kind: 'cluster', nodes: [...], tls: false }
 */
export const redisTarget = (raw: string): RedisTarget | { problem: string } => {
  const match = SCHEME.exec(raw.trim())
  // The message predates the cluster and Sentinel forms (config check output stays the same); they are in docs/deploy-redis.md.
  if (match === null) return { problem: 'must be a redis:// or rediss:// URL' }
  const [, scheme = '', topology, afterScheme = ''] = match
  const tls = scheme.toLowerCase() === 'rediss'
  const [beforeQuery = '', query = ''] = afterScheme.split('?', 2)
  const slash = beforeQuery.indexOf('/')
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash)
  const path = slash < 0 ? '' : beforeQuery.slice(slash + 1)
  const access = accessOf(authority)
  if (typeof access === 'string') return { problem: access }
  const { rest, ...credentials } = access
  if (rest === '') return { problem: 'names no host' }
  if (topology === undefined) {
    if (rest.includes(',')) return { problem: 'lists several hosts: use redis+cluster:// or redis+sentinel://' }
    const node = nodeOf(rest, 6379)
    if (typeof node === 'string') return { problem: node }
    if (path !== '' && !/^\d{1,2}$/.test(path)) return { problem: 'has a database that is not a number' }
    return { kind: 'single', url: raw.trim(), tls, ...credentials }
  }
  if (topology.toLowerCase() === 'cluster') {
    if (path !== '') return { problem: 'names a database, which Redis Cluster does not have' }
    const nodes = nodesOf(rest, 6379)
    return typeof nodes === 'string' ? { problem: nodes } : { kind: 'cluster', nodes, tls, ...credentials }
  }
  const sentinels = nodesOf(rest, 26_379)
  if (typeof sentinels === 'string') return { problem: sentinels }
  const [masterName = '', db = '0', ...extra] = path.split('/')
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(masterName)) return { problem: 'must name the master after the sentinels (/<master name>)' }
  if (!/^\d{1,2}$/.test(db) || extra.length > 0) return { problem: 'has a database that is not a number' }
  const params = new URLSearchParams(query)
  const sentinelAuth = params.get('sentinel_auth')
  if (sentinelAuth !== null && sentinelAuth !== 'same') return { problem: 'has sentinel_auth other than "same"' }
  return { kind: 'sentinel', sentinels, masterName, db: Number(db), sentinelAuth: sentinelAuth === 'same', tls, ...credentials }
}

/** `QRELAY_REDIS_URL` for the knob: the text as written (trimmed) once {@link redisTarget} accepts it; blank is unset. */
export const redisUrl = (raw: string): { value: string | undefined } | { problem: string } => {
  if (raw.trim() === '') return { value: undefined }
  const target = redisTarget(raw)
  return 'problem' in target ? target : { value: raw.trim() }
}
