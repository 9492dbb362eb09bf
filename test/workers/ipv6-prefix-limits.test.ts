/**
 * Finding 48 on the Worker inside workerd (the real entry, its counters in the Durable Object shards):
 * one IPv6 /48 gets four /64s' worth of registration checks, whatever the number of its /64s, while
 * another /48 and IPv4 clients go on. Channel creation reserves through the same counter port; its
 * minute window is too short for a test on the real clock of a loaded machine.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { call, type Send } from '../helpers/account-client.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'

/** A client at `ip`. */
const from =
  (ip: string): Send =>
  (path, init) =>
    SELF.fetch(`${ORIGIN}${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...(init.headers as Record<string, string>) } })

/** A /48 of its own for each test: the Worker's counters outlive one test. */
let next = Date.now() % 0xf000
const fresh48 = (): string => `2001:db8:${(next++).toString(16)}`
/** An address in /56 number `site` of `net`. */
const at = (net: string, site: number): string => `${net}:${(site << 8).toString(16)}::1`

describe('workers: finding 48', () => {
  it('finding 48: on the Worker, 125 registration checks from five /56s of one /48 get 120 answers; another /48 and IPv4 still get theirs', async () => {
    // Defaults: 30 an hour per /64, 60 per /56, 120 per /48.
    const net = fresh48()
    const statuses: number[] = []
    for (let site = 0; site < 5; site++) {
      for (let i = 0; i < (site < 4 ? 30 : 5); i++) {
        statuses.push(
          (await call(from(at(net, site)), 'POST', '/v1/register', { username: `f48x${site}n${i}`, password: PASSWORD })).status,
        )
      }
    }
    expect(statuses.filter((s) => s !== 429)).toHaveLength(120)
    expect(statuses.slice(-5)).toEqual([429, 429, 429, 429, 429])
    expect((await call(from(at(fresh48(), 0)), 'POST', '/v1/register', { username: 'f48other', password: PASSWORD })).status).not.toBe(429)
    expect((await call(from('192.0.2.148'), 'POST', '/v1/register', { username: 'f48v4', password: PASSWORD })).status).not.toBe(429)
  }, 60_000)

  it('on the Worker, IPv6 clients of one /56 create channels through the same reservations (their bound is tested on Node)', async () => {
    const net = fresh48()
    for (let lan = 0; lan < 3; lan++) {
      const created = await call(from(`${net}:${lan.toString(16)}::1`), 'POST', '/v1/rendezvous', { data: '' })
      expect(created.status, JSON.stringify(created.body)).toBe(200)
    }
  })
})
