import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.ts'
import { redisTarget } from '../../../src/config/parse-redis.ts'

describe('QRELAY_REDIS_URL', () => {
  it('reads one Redis, with TLS, credentials and a database, and keeps the URL for ioredis', () => {
    expect(redisTarget('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379', tls: false })
    expect(redisTarget(' rediss://app:p%40ss@cache.internal:6380/2 ')).toEqual({
      kind: 'single',
      url: 'rediss://app:p%40ss@cache.internal:6380/2',
      tls: true,
      username: 'app',
      password: 'p@ss',
    })
    expect(redisTarget('redis://:secret@[::1]')).toMatchObject({ kind: 'single', password: 'secret' })
  })

  it('reads the seed nodes of a cluster', () => {
    expect(redisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001, node-3')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'node-3', port: 6379 },
      ],
      tls: false,
    })
    expect(redisTarget('rediss+cluster://u:p@[::1]:7000')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '::1', port: 7000 }],
      tls: true,
      username: 'u',
      password: 'p',
    })
  })

  it('reads the sentinels, the master name and the database', () => {
    expect(redisTarget('redis+sentinel://:pw@s1,s2:26380/qrelay/3?sentinel_auth=same')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26_379 },
        { host: 's2', port: 26_380 },
      ],
      masterName: 'qrelay',
      db: 3,
      sentinelAuth: true,
      tls: false,
      password: 'pw',
    })
    expect(redisTarget('rediss+sentinel://s1/mymaster')).toMatchObject({ kind: 'sentinel', db: 0, sentinelAuth: false, tls: true })
  })

  it.each([
    ['http://127.0.0.1:6379', 'must be a redis://'],
    ['redis://a:1,b:2', 'lists several hosts'],
    ['redis://', 'names no host'],
    ['redis://h:99999', 'port outside'],
    ['redis://h/x', 'database that is not a number'],
    ['redis+cluster://h:1/0', 'does not have'],
    ['redis+cluster://h:1,,h:2', 'malformed host'],
    ['redis+sentinel://s1:26379', 'must name the master'],
    ['redis+sentinel://s1/m/x', 'database that is not a number'],
    ['redis+sentinel://s1/m?sentinel_auth=other', 'sentinel_auth'],
    ['redis://u:%zz@h', 'malformed credentials'],
  ])('refuses %s', (url, problem) => {
    const target = redisTarget(url)
    expect(target).toHaveProperty('problem')
    expect((target as { problem: string }).problem).toContain(problem)
  })

  it('is validated by the configuration without repeating a password in the problem', () => {
    expect(parseConfig({ QRELAY_STORE: 'redis', QRELAY_REDIS_URL: 'redis+cluster://a:1,b:2' }).storage.redisUrl).toBe(
      'redis+cluster://a:1,b:2',
    )
    const problem = (() => {
      try {
        parseConfig({ QRELAY_STORE: 'redis', QRELAY_REDIS_URL: 'redis+sentinel://:hunter2@s1' })
      } catch (error) {
        return String(error)
      }
      return ''
    })()
    expect(problem).toContain('QRELAY_REDIS_URL must name the master')
    expect(problem).not.toContain('hunter2')
  })
})
