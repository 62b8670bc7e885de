import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../controls/index.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase({ install: false });
  await test.db.query('CREATE TABLE tx_probe (id int PRIMARY KEY, written_by text)');
});
afterAll(() => test.drop());

describe('transactions', () => {
  it('keeps concurrent work out of an open transaction', async () => {
    const { db } = test;
    let releaseTransaction: () => void = () => {};
    const held = new Promise<void>((resolve) => (releaseTransaction = resolve));
    let insideStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (insideStarted = resolve));

    // A transaction that writes, then waits on other async work, then fails.
    const failing = db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO tx_probe VALUES (1, 'transaction')`);
        insideStarted();
        await held;
        throw new Error('roll me back');
      })
      .catch((error: Error) => error.message);

    await started;
    // Unrelated work issued while the transaction is open and waiting.
    const outside = db.query(`INSERT INTO tx_probe VALUES (2, 'outside')`);
    // No signal: a write queued behind the transaction tells nothing; this gives it time to wrongly run inside.
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseTransaction();
    expect(await failing).toBe('roll me back');
    await outside;

    // The outside write survived the rollback: it did not run inside the transaction.
    const rows = await db.query<{ id: number; written_by: string }>('SELECT id, written_by FROM tx_probe ORDER BY id');
    expect(rows).toEqual([{ id: 2, written_by: 'outside' }]);
  });

  it('commits work that resolves and rolls back work that throws', async () => {
    const { db } = test;
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO tx_probe VALUES (10, 'committed')`);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO tx_probe VALUES (11, 'rolled back')`);
        await tx.query(`INSERT INTO tx_probe VALUES (10, 'duplicate key')`);
      }),
    ).rejects.toThrow();
    const rows = await db.query<{ id: number }>('SELECT id FROM tx_probe WHERE id >= 10 ORDER BY id');
    expect(rows).toEqual([{ id: 10 }]);
  });

  it('runs many concurrent transactions without interleaving them', async () => {
    const { db } = test;
    await db.query('CREATE TABLE counter (n int)');
    await db.query('INSERT INTO counter VALUES (0)');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const [row] = await tx.query<{ n: number }>('SELECT n FROM counter FOR UPDATE');
          await new Promise((resolve) => setTimeout(resolve, 1));
          await tx.query('UPDATE counter SET n = $1', [Number(row?.n) + 1]);
        }),
      ),
    );
    expect(await db.query('SELECT n FROM counter')).toEqual([{ n: 20 }]);
  });
});

describe('a search path of its own', () => {
  it('holds on every session of the handle: queries, transactions, sessions and further connections', async () => {
    const own = await createTestDatabase({ install: false, searchPath: ['app_data', 'message_store', 'public'] });
    try {
      await own.db.exec('CREATE SCHEMA app_data');
      await own.db.exec('CREATE TABLE app_data.probe (id int PRIMARY KEY)');
      await own.db.query('INSERT INTO probe VALUES (1)');
      const pathOf = async (target: { query: typeof own.db.query }) =>
        (await target.query<{ path: string }>(`SELECT current_setting('search_path') AS path`))[0]?.path.replaceAll(
          ' ',
          '',
        );
      expect(await pathOf(own.db)).toBe('app_data,message_store,public');
      // Many statements at once: on PostgreSQL several pooled connections, each with the path.
      const counts = await Promise.all(
        Array.from({ length: 12 }, () =>
          own.db.transaction(
            async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM probe'))[0]?.n,
          ),
        ),
      );
      expect(counts).toEqual(Array.from({ length: 12 }, () => 1));
      expect(await pathOf(own.db.session('probe'))).toBe('app_data,message_store,public');
      if (own.connectionString) expect(await pathOf(own.connectAgain())).toBe('app_data,message_store,public');
    } finally {
      await own.drop();
    }
  });

  it('is Message DB’s by default', async () => {
    expect(
      (await test.db.query<{ path: string }>(`SELECT current_setting('search_path') AS path`))[0]?.path.replaceAll(
        ' ',
        '',
      ),
    ).toBe('message_store,public');
  });

  it('takes plain schema names only', async () => {
    await expect(createTestDatabase({ install: false, searchPath: ['x; DROP TABLE y'] })).rejects.toThrow(
      /not a plain lower-case schema name/,
    );
  });
});
