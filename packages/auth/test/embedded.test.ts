import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedPostgres, WORKER_NICE } from '../src/db/embedded.js'
import { isDatabaseOutage, pgCode, UNIQUE_VIOLATION } from '../src/db/errors.js'
import { threadNiceValues } from './helpers.js'

describe('the embedded database on its worker thread', () => {
  let dir: string
  let embedded: EmbeddedPostgres
  const clients: postgres.Sql[] = []
  const connect = () => {
    const sql = postgres({ socket: () => embedded.connect(), max: 1, idle_timeout: 0, max_lifetime: null, onnotice: () => undefined } as never)
    clients.push(sql)
    return sql
  }

  // One database for the file: creating one takes seconds.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-embedded-'))
    embedded = await EmbeddedPostgres.open(join(dir, 'db'))
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 1 }).catch(() => undefined)))
  })
  afterAll(async () => {
    await embedded.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers the postgres driver: parameters, rows, error codes and transactions', async () => {
    const sql = connect()
    await sql`create table t (id int primary key, name text not null)`
    await sql`insert into t ${sql([{ id: 1, name: 'one' }, { id: 2, name: 'two' }])}`
    expect(await sql`select name from t where id = ${2}`).toEqual([{ name: 'two' }])

    const duplicate = await sql`insert into t values (1, 'again')`.catch((err: unknown) => err)
    expect(pgCode(duplicate)).toBe(UNIQUE_VIOLATION)
    expect(isDatabaseOutage(duplicate)).toBe(false)

    await expect(
      sql.begin(async (tx) => {
        await tx`insert into t values (3, 'three')`
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect(await sql`select count(*)::int as n from t`).toEqual([{ n: 2 }])
  })

  it.runIf(process.platform === 'linux')('runs below the event loop\'s CPU priority, so that queries yield to requests on a busy core', () => {
    const [main, ...others] = threadNiceValues()
    expect(main).toBe(0)
    expect(others.filter((nice) => nice === WORKER_NICE)).toHaveLength(1)
  })

  it('rolls back what a connection left open, so the next one does not inherit its transaction', async () => {
    const first = connect()
    await first.unsafe('begin')
    await first`create table left_open (id int)`
    await first.end()

    const second = connect()
    expect(await second`select to_regclass('left_open') as t`).toEqual([{ t: null }])
  })

  it('keeps the event loop free while a query runs', async () => {
    const sql = connect()
    await sql`select 1`
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = performance.now()
    await sql`select count(*) from generate_series(1, 3000000)`
    const took = performance.now() - started
    clearInterval(timer)
    // In the server's own thread the query would have held the loop, and no tick would have run.
    expect(took).toBeGreaterThan(50)
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(took / 5 / 4))
  })

  // Last: it stops the database.
  it('fails queries after it has stopped as an outage (503), not a hang', async () => {
    const sql = connect()
    await sql`select 1`
    await embedded.close()
    const err = await sql`select 1`.catch((e: unknown) => e)
    expect(isDatabaseOutage(err)).toBe(true)
    expect(() => embedded.connect()).toThrow(/stopped/)
  })
})
