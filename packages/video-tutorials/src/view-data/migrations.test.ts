import { createTestDatabase, type TestDatabase } from '@vt/message-store/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateViewData } from './migrations.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase({ install: false });
});
afterAll(() => test.drop());

describe('View Data migrations', () => {
  it('apply in order once, and do nothing the next time', async () => {
    const first = await migrateViewData(test.db);
    expect(first[0]).toBe('0001-pages');
    expect(first).toEqual([...first].sort());
    expect(await migrateViewData(test.db)).toEqual([]);
    expect(await test.db.query(`SELECT page_data FROM pages WHERE page_name = 'home'`)).toEqual([
      { page_data: { videosWatched: 0 } },
    ]);
  });

  it('are safe when several processes start at once', async () => {
    expect(await Promise.all([migrateViewData(test.db), migrateViewData(test.db)])).toEqual([[], []]);
  });
});
