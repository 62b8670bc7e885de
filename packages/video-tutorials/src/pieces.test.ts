import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { createLogger } from './observability/index.js';
import { subscriptionsOf } from './piece.js';
import { AGGREGATORS, folderOf, PIECE_NAMES, PIECES, selectPieces, SUBSCRIPTIONS } from './pieces.js';
import { createStorage } from './storage.js';
import { createSystemTestDatabase } from './test-support/database.js';
import { VIEW_DATA_OWNERS } from './view-data/migrations.js';
import type { ViewDataSchema } from './view-data/schema.js';

const source = path.dirname(fileURLToPath(import.meta.url));

let test: Awaited<ReturnType<typeof createSystemTestDatabase>>;
let directory: string;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  directory = await mkdtemp(path.join(tmpdir(), 'pieces-'));
});
afterAll(async () => {
  await test?.drop();
  await rm(directory, { recursive: true, force: true });
});

describe('the list of pieces', () => {
  it('holds the descriptor of every component and aggregator folder that builds a piece, once', async () => {
    const descriptors: unknown[] = [];
    for (const folder of ['components', 'aggregators'])
      for (const entry of await readdir(path.join(source, folder), { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const module = (await import(path.join(source, folder, entry.name, 'index.js'))) as {
          build?: unknown;
          descriptor?: { name: string };
        };
        if (typeof module.build !== 'function') continue;
        expect(module.descriptor, `${folder}/${entry.name} exports its descriptor`).toBeDefined();
        descriptors.push(module.descriptor);
        if (folder === 'aggregators') {
          // Its tables are the ones its schema.ts makes, and the migrations make them from that very schema.
          const { schema } = (await import(path.join(source, folder, entry.name, 'schema.js'))) as {
            schema: ViewDataSchema;
          };
          expect((module.descriptor as { tables?: unknown }).tables, entry.name).toBe(schema.tables);
          expect((VIEW_DATA_OWNERS as Record<string, ViewDataSchema>)[entry.name], entry.name).toBe(schema);
        }
      }
    expect(descriptors.length).toBe(PIECES.length);
    // Every owner of View Data tables but View Data itself is one of these aggregators.
    expect(Object.keys(VIEW_DATA_OWNERS).sort()).toEqual([...AGGREGATORS.map(folderOf), 'view-data'].sort());
    for (const descriptor of descriptors)
      expect(PIECES.map((piece) => piece.name)).toContain((descriptor as { name: string }).name);
    expect(new Set(PIECE_NAMES).size).toBe(PIECE_NAMES.length);
    const subscriberIds = SUBSCRIPTIONS.map((subscription) => subscription.subscriberId);
    expect(new Set(subscriberIds).size).toBe(subscriberIds.length);
  });

  it('builds each piece under its own name, with the subscriptions its descriptor declares', () => {
    const config = readConfig({ NODE_ENV: 'test', DATA_DIRECTORY: directory });
    const wiring = {
      config,
      store: test.store,
      viewData: test.db,
      storage: createStorage(path.join(directory, 'storage')),
      logger: createLogger({ level: 'silent', format: 'json' }),
    };
    for (const descriptor of PIECES) {
      const piece = descriptor.build(wiring);
      expect(piece.name).toBe(descriptor.name);
      expect(piece.subscriptions.length, descriptor.name).toBe(subscriptionsOf(descriptor).length);
    }
  });

  it('refuses a name that is no piece, naming the ones there are', () => {
    expect(selectPieces(['identity', 'home-page-aggregator']).map((piece) => piece.name)).toEqual([
      'identity',
      'home-page-aggregator',
    ]);
    expect(() => selectPieces(['nobody'])).toThrow(`Unknown piece "nobody": choose from ${PIECE_NAMES.join(', ')}`);
  });
});
