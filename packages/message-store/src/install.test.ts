import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './controls/index.js';
import { installedMessageDbVersion, installMessageDb, packagedMessageDbVersion } from './install.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase({ install: false });
});
afterAll(() => test.drop());

describe('installing Message DB', () => {
  it('installs from the package, then does nothing at the next start', async () => {
    const version = await packagedMessageDbVersion();
    expect(version).toMatch(/^1\.3\./);
    expect(await installedMessageDbVersion(test.db)).toBeNull();
    expect(await installMessageDb(test.db)).toEqual({ action: 'installed', version, previousVersion: null });
    expect(await installedMessageDbVersion(test.db)).toBe(version);
    await test.db.query(`SELECT message_store.write_message(gen_random_uuid()::text, 'thing-1', 'Done', '{}'::jsonb)`);
    expect(await installMessageDb(test.db)).toEqual({ action: 'none', version, previousVersion: version });
    expect(await test.db.query(`SELECT count(*)::int AS count FROM message_store.messages`)).toEqual([{ count: 1 }]);
  });

  it('upgrades an older installation, keeping its messages', async () => {
    await test.db.query(
      `CREATE OR REPLACE FUNCTION message_store.message_store_version() RETURNS varchar AS $$ BEGIN RETURN '1.2.6'; END; $$ LANGUAGE plpgsql`,
    );
    const result = await installMessageDb(test.db);
    expect(result).toMatchObject({ action: 'upgraded', previousVersion: '1.2.6' });
    expect(await installedMessageDbVersion(test.db)).toBe(result.version);
    expect(await test.db.query(`SELECT count(*)::int AS count FROM message_store.messages`)).toEqual([{ count: 1 }]);
    const [row] = await test.db.query<{ p: number | string }>(
      `SELECT message_store.write_message(gen_random_uuid()::text, 'thing-1', 'Done', '{}'::jsonb) AS p`,
    );
    expect(Number(row?.p)).toBe(1);
  });

  it('drops the notify trigger of earlier toolkit versions', async () => {
    await test.db.exec(`
      CREATE FUNCTION message_store.toolkit_notify_message_written() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('message_store_written', split_part(NEW.stream_name, '-', 1));
        RETURN NULL;
      END;
      $$ LANGUAGE plpgsql;
      CREATE TRIGGER toolkit_notify_message_written AFTER INSERT ON message_store.messages
        FOR EACH ROW EXECUTE FUNCTION message_store.toolkit_notify_message_written();
      COMMENT ON FUNCTION message_store.toolkit_notify_message_written() IS 'toolkit revision 1';`);
    const version = await packagedMessageDbVersion();
    expect(await installMessageDb(test.db)).toEqual({ action: 'upgraded', version, previousVersion: version });
    expect(
      await test.db.query(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = 'message_store.messages'::regclass AND NOT tgisinternal`,
      ),
    ).toEqual([]);
    expect(
      await test.db.query(`SELECT to_regprocedure('message_store.toolkit_notify_message_written()') AS present`),
    ).toEqual([{ present: null }]);
    expect(await installMessageDb(test.db)).toEqual({ action: 'none', version, previousVersion: version });
  });

  it('is safe when several starters install at once', async () => {
    const results = await Promise.all([
      installMessageDb(test.db),
      installMessageDb(test.db),
      installMessageDb(test.db),
    ]);
    expect(results.every((result) => result.action === 'none')).toBe(true);
  });
});
