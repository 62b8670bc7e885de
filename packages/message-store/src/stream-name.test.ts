import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './controls/index.js';
import {
  cardinalId,
  category,
  categoryTypes,
  commandStreamName,
  entityName,
  id,
  isCategory,
  isCommandStream,
  streamName,
} from './stream-name.js';

// Names chosen to cover every separator case Message DB's functions treat specially.
const NAMES = [
  'account',
  'account-123',
  'account-123+456',
  'account:command-123',
  'account:command+position-123+abc',
  'account-',
  '-123',
  'a-b-c',
  'x+y-1',
  'identity-3f0a2b1c-8d9e-4f00-a1b2-c3d4e5f60718',
  '$all',
  '',
];

describe('stream names agree with Message DB', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase();
  });
  afterAll(() => test.drop());

  it.each(NAMES)('%j', async (name) => {
    const [row] = await test.db.query<{
      category: string;
      id: string | null;
      cardinal_id: string | null;
      is_category: boolean;
    }>(
      `SELECT message_store.category($1) AS category, message_store.id($1) AS id,
              message_store.cardinal_id($1) AS cardinal_id, message_store.is_category($1) AS is_category`,
      [name],
    );
    expect({
      category: category(name),
      id: id(name),
      cardinal_id: cardinalId(name),
      is_category: isCategory(name),
    }).toEqual(row);
  });
});

describe('stream name builders', () => {
  it('builds entity, compound and command stream names', () => {
    expect(streamName('identity', '1')).toBe('identity-1');
    expect(streamName('identity', '1', '2')).toBe('identity-1+2');
    expect(streamName('identity')).toBe('identity');
    expect(commandStreamName('identity', '1')).toBe('identity:command-1');
    expect(isCommandStream('identity:command-1')).toBe(true);
    expect(isCommandStream('identity-1')).toBe(false);
    expect(entityName('identity:command-1')).toBe('identity');
    expect(categoryTypes('identity:command+snapshot-1')).toEqual(['command', 'snapshot']);
  });
});
