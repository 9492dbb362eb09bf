/**
 * Redis servers that ask for TLS or credentials, for tests: a throwaway CA and a server certificate for
 * 127.0.0.1 made with the openssl CLI in a temporary directory, and `redis-server` on free loopback ports
 * with `--tls-port`, `--requirepass` or an ACL user. Each process is kept with its PID and stopped by it.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, startRedisServer, stopChild, waitFor } from './redis-cluster.ts'

/** Files of a throwaway PKI: the CA that signed the server's certificate, and an unrelated CA. */
export interface TestPki {
  dir: string
  caFile: string
  otherCaFile: string
  certFile: string
  keyFile: string
}

const openssl = (dir: string, args: string[]): void => {
  const result = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 })
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${String(result.stderr)}`)
}

const selfSignedCa = (dir: string, name: string): void =>
  openssl(dir, [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
    ...['-subj', `/CN=qrelay test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`],
  ])

/** Generates the CA, a second CA, and a server certificate for IP 127.0.0.1 and `localhost`. */
export const makeTestPki = (): TestPki => {
  const dir = mkdtempSync(join(tmpdir(), 'qrelay-pki-'))
  selfSignedCa(dir, 'ca')
  selfSignedCa(dir, 'other-ca')
  openssl(dir, [
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'],
  ])
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  openssl(dir, [
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-days', '1', '-extfile', 'server.ext', '-out', 'server.pem'],
  ])
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
  }
}

/** Whether this redis-server was built with TLS (Debian's is): a build without it refuses `tls-port` as a bad directive. */
export const redisHasTls = (): boolean => {
  const args = [
    '--port',
    '0',
    '--tls-port',
    '1',
    '--bind',
    '127.0.0.1',
    '--tls-cert-file',
    '/nonexistent',
    '--tls-key-file',
    '/nonexistent',
  ]
  const result = spawnSync('redis-server', args, { stdio: 'pipe', timeout: 5000 })
  return (
    result.error === undefined &&
    /TLS/.test(String(result.stdout) + String(result.stderr)) &&
    !/Bad directive/.test(String(result.stdout) + String(result.stderr))
  )
}

/** A running secured redis-server. */
export interface SecuredRedis {
  port: number
  pid: number
  /** A client that can get in (same TLS and credentials), for setup and checks; the caller quits it. */
  admin(): Redis
  stop(): Promise<void>
}

/** How the server is secured. */
export interface SecuredOptions {
  /** TLS only (`--port 0`), with this PKI's server certificate. */
  tls?: TestPki
  /** `--requirepass`. */
  requirepass?: string
  /** An ACL user with every key, channel and command; the default user is switched off. */
  aclUser?: { name: string; password: string }
  /** Extra redis-server arguments. */
  extra?: string[]
}

/**
 * Starts one redis-server secured as `options` say, and waits until an authorised client gets PONG.
 *
 * @example
 * const redis = await startSecuredRedis({ requirepass: 's3cret' })
 * await redis.stop()
 */
export const startSecuredRedis = async (options: SecuredOptions): Promise<SecuredRedis> => {
  const port = await freePort()
  const listen = options.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile]
    : ['--port', String(port)]
  const tlsCa = options.tls ? ['--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no'] : []
  const pass = options.requirepass === undefined ? [] : ['--requirepass', options.requirepass]
  const acl =
    options.aclUser === undefined
      ? []
      : ['--user', options.aclUser.name, 'on', `>${options.aclUser.password}`, '~*', '&*', '+@all', '--user', 'default', 'off']
  const child: ChildProcess = await startRedisServer([
    ...listen,
    ...tlsCa,
    ...pass,
    ...acl,
    ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory', '128mb', '--loglevel', 'warning'],
    ...(options.extra ?? []),
  ])
  const admin = (): Redis =>
    new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(options.tls ? { tls: { ca: readFileSync(options.tls.caFile) } } : {}),
      ...(options.requirepass === undefined ? {} : { password: options.requirepass }),
      ...(options.aclUser === undefined ? {} : { username: options.aclUser.name, password: options.aclUser.password }),
    })
  const stop = (): Promise<void> => stopChild(child)
  try {
    await waitFor(`secured redis-server on ${port}`, async () => {
      const client = admin()
      client.on('error', () => {}) // refused while it starts: polled
      try {
        return (await client.ping()) === 'PONG'
      } catch {
        return false
      } finally {
        client.disconnect()
      }
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { port, pid: child.pid as number, admin, stop }
}

/** Removes a PKI's directory. */
export const removePki = (pki: TestPki): void => rmSync(pki.dir, { recursive: true, force: true })
