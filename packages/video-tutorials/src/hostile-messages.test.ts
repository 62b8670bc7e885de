import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandCategory, storeBrowser, type ParkedMessage } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase, testPgliteTemplate } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationCategory } from './contracts/authentication.js';
import { identityCategory, identityCommandStreamName, identityStreamName, Register } from './contracts/identity.js';
import { sendEmailCategory, sendEmailCommandStreamName } from './contracts/send-email.js';
import { transcodeCategory } from './contracts/transcode.js';
import { transcribeCategory } from './contracts/transcribe.js';
import { videoPublishingCategory } from './contracts/video-publishing.js';
import { viewingCategory } from './contracts/viewing.js';
import { registrationEmailId } from './components/identity/index.js';
import { readConfig } from './config.js';
import { createLogger } from './observability/index.js';
import { logLines } from './test-support/log-lines.js';
import { startSystem, type System } from './system.js';

/**
 * Anyone can write any message with Message DB's own `write_message`. Every component and aggregator,
 * started together on one store, is fed messages whose types are the names of Object.prototype's
 * properties, and messages of the types it knows whose data is not an object or lacks its fields.
 * None of them crashes, none records a success for an invalid message, and what is parked is parked
 * with its reason.
 */
const HOSTILE_TYPES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', '$any'];
/** Metadata texts given to the hostile types, in turn. */
const HOSTILE_METADATA = ['null', '42', '"text"', '[]', '{"traceId": 7, "userId": {"a": 1}}', '{}'];
/** Data of a known type that is not an object, or that lacks every field. */
const INVALID_DATA = ['null', '42', '"text"', '[]', '{}'];

/** Position records that hold no position a consumer could resume from. */
const INVALID_POSITIONS = ['{"position": 1.5}', '{"position": -1}', '{"position": "abc"}', '{"position": 1e300}'];

/** Every category a piece reads, with the types written to it. */
const CATEGORIES: { category: string; types: string[] }[] = [
  { category: commandCategory(identityCategory), types: ['Register', 'UnlockAccount'] },
  {
    category: identityCategory,
    types: ['Registered', 'RegistrationRejected', 'RegistrationEmailSent', 'AccountLocked', 'AccountUnlocked'],
  },
  { category: authenticationCategory, types: ['UserLoggedIn', 'UserLoginFailed'] },
  { category: commandCategory(sendEmailCategory), types: ['Send'] },
  { category: sendEmailCategory, types: ['Sent', 'Failed'] },
  { category: viewingCategory, types: ['VideoViewed'] },
  { category: commandCategory(videoPublishingCategory), types: ['PublishVideo', 'NameVideo', 'DescribeVideo'] },
  {
    category: videoPublishingCategory,
    types: [
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscribed',
      'VideoTranscriptionFailed',
      'VideoPublished',
      'VideoPublishingFailed',
      'VideoNamed',
      'VideoNameRejected',
      'VideoDescribed',
      'VideoDescriptionRejected',
    ],
  },
  { category: commandCategory(transcodeCategory), types: ['Transcode'] },
  { category: transcodeCategory, types: ['Transcoded', 'TranscodeFailed'] },
  { category: commandCategory(transcribeCategory), types: ['Transcribe'] },
  { category: transcribeCategory, types: ['Transcribed', 'TranscribeFailed'] },
  { category: 'subscriberPosition', types: ['Read'] },
];

/** What each piece must park of the invalid messages (the types it applies); it may park more. */
const MUST_PARK: Record<string, string[]> = {
  'vt:identity:command': ['Register', 'UnlockAccount'],
  'vt:identity': ['Registered'],
  'vt:identity:authenticationEvents': ['UserLoginFailed'],
  'vt:send-email': ['Send'],
  'vt:video-publishing:command': ['PublishVideo', 'NameVideo', 'DescribeVideo'],
  'components:transcode': ['Transcode'],
  'components:transcribe': ['Transcribe'],
  'aggregators:home-page': ['VideoViewed'],
  'aggregators:video-views': ['VideoViewed'],
  'aggregators:user-credentials': ['Registered', 'AccountLocked', 'AccountUnlocked'],
  'aggregators:registration-monitor': ['Registered', 'RegistrationEmailSent'],
  'aggregators:creators-videos': ['PublishingStarted', 'VideoNamed', 'VideoDescribed', 'VideoPublished'],
  'aggregators:catalogue': ['PublishingStarted', 'VideoNamed', 'VideoDescribed', 'VideoPublished'],
  'aggregators:video-operations': ['VideoNamed', 'VideoDescribed', 'VideoNameRejected', 'VideoDescriptionRejected'],
};

/** View Data that only valid messages may change. */
const RECORDED_TABLES = [
  'user_credentials',
  'registration_emails',
  'creators_portal_videos',
  'video_catalogue',
  'video_operations',
  'video_view_counts',
  'admin_users',
];

let system: System;
let databases: TestDatabase[] = [];
let directory: string;
let log = logLines();

/** Starts every piece; on PostgreSQL also with View Data in a database of its own (aggregators then apply one message at a time). */
async function startAllPieces({ viewDataApart }: { viewDataApart: boolean }) {
  directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-hostile-'));
  log = logLines();
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory };
  if (process.env.TEST_POSTGRES_URL) {
    const messageStore = await createTestDatabase({ install: false });
    const viewData = viewDataApart ? await createTestDatabase({ install: false }) : messageStore;
    databases = viewDataApart ? [messageStore, viewData] : [messageStore];
    env.MESSAGE_STORE_CONNECTION_STRING = messageStore.connectionString!;
    env.DATABASE_URL = viewData.connectionString!;
  }
  system = await startSystem(
    readConfig(env),
    { web: false, workers: true },
    { logger: createLogger({ level: 'warn', destination: log }), pgliteTemplate: await testPgliteTemplate() },
  );
}

async function stopAllPieces() {
  await system?.stop();
  await Promise.all(databases.splice(0).map((database) => database.drop()));
  await rm(directory, { recursive: true, force: true });
}

const subscriptions = () => system.pieces.flatMap((piece) => piece.subscriptions);

/** Until every consumer is caught up and none wrote anything more meanwhile (a piece's event is another's input). */
async function caughtUp() {
  for (let last = -1; ;) {
    await Promise.all(subscriptions().map((subscription) => subscription.waitUntilCaughtUp({ timeoutMs: 120_000 })));
    const [row] = await system.messageStoreDb.query<{ last: string | number | null }>(
      'SELECT max(global_position) AS last FROM message_store.messages',
    );
    if (Number(row?.last) === last) return;
    last = Number(row?.last);
  }
}

async function parked(): Promise<ParkedMessage[]> {
  return (await Promise.all(subscriptions().map((subscription) => subscription.parkingLot.list()))).flat();
}

/** Writes as a third party would: Message DB's own function, no toolkit in between. */
async function writeMessage(streamName: string, type: string, data: string | null, metadata: string | null) {
  const id = randomUUID();
  await system.messageStoreDb.query('SELECT write_message($1, $2, $3, $4::jsonb, $5::jsonb)', [
    id,
    streamName,
    type,
    data,
    metadata,
  ]);
  return id;
}

const setups = process.env.TEST_POSTGRES_URL
  ? [{ viewDataApart: false }, { viewDataApart: true }]
  : [{ viewDataApart: false }];

describe.each(setups)('hostile messages written with write_message (View Data apart: $viewDataApart)', (setup) => {
  beforeAll(() => startAllPieces(setup));
  afterAll(() => stopAllPieces());

  const hostile = new Map<string, { type: string; category: string }>();
  const invalid = new Map<string, { type: string; category: string }>();
  const streamNames: string[] = [];

  it('crash no piece, are parked with a reason or ignored, and record no success', async () => {
    for (const { category: categoryName, types } of CATEGORIES) {
      const streamName = `${categoryName}-${randomUUID()}`;
      streamNames.push(streamName);
      for (const [index, type] of HOSTILE_TYPES.entries())
        hostile.set(await writeMessage(streamName, type, '{}', HOSTILE_METADATA[index]!), {
          type,
          category: categoryName,
        });
      for (const type of types)
        for (const data of INVALID_DATA) {
          const metadata = JSON.stringify({ traceId: randomUUID(), userId: randomUUID() });
          invalid.set(await writeMessage(streamName, type, data, metadata), { type, category: categoryName });
        }
      if (categoryName === 'subscriberPosition')
        for (const data of INVALID_POSITIONS)
          invalid.set(await writeMessage(streamName, 'Read', data, null), { type: 'Read', category: categoryName });
    }
    await caughtUp();

    // Nothing crashed: no consumer failed a tick, nothing was retried.
    expect(log.lines.filter((line) => line.msg === 'consumer tick failed; retrying')).toEqual([]);
    const lot = await parked();
    for (const message of lot) {
      // Only invalid messages of known types are parked, at once, with the schema's reasons.
      expect(invalid.has(message.messageId), `${message.subscriberId} parked ${message.type}`).toBe(true);
      expect(message.error, `${message.subscriberId} parked ${message.type}`).toMatch(/^InvalidMessageError: /);
      expect(message.attempts).toBe(1);
    }
    for (const [subscriberId, types] of Object.entries(MUST_PARK))
      for (const type of types) {
        const expected = [...invalid].filter(([, message]) => message.type === type).map(([id]) => id);
        const found = lot.filter((message) => message.subscriberId === subscriberId && message.type === type);
        expect(found.map((message) => message.messageId).sort(), `${subscriberId} parks ${type}`).toEqual(
          expected.sort(),
        );
      }
    // The components' parking reached the log, with who parked what and why.
    const parkedLines = log.lines.filter((line) => line.msg === 'message parked' && line.level === 50);
    for (const message of lot.filter((each) => each.subscriberId.startsWith('components:')))
      expect(parkedLines).toContainEqual(
        expect.objectContaining({
          subscriberId: message.subscriberId,
          messageId: message.messageId,
          type: message.type,
          error: message.error,
        }),
      );

    // No success recorded: View Data fed by these categories has nothing from the corpus.
    for (const table of RECORDED_TABLES)
      expect(await system.viewData.query(`SELECT * FROM ${table}`), table).toEqual([]);
    const [home] = await system.viewData.query<{ videos_watched: string | null }>(
      `SELECT page_data->>'videosWatched' AS videos_watched FROM pages WHERE page_name = 'home'`,
    );
    expect(Number(home?.videos_watched ?? 0)).toBe(0);
    expect(
      await system.viewData.query(`SELECT * FROM admin_subscriber_positions WHERE stream_name = ANY($1::text[])`, [
        [...streamNames],
      ]),
    ).toEqual([]);

    // The admin index keeps only what Message DB's own indexes cannot find: hostile metadata adds no row.
    const written = [...hostile.keys(), ...invalid.keys()];
    const positions = await system.messageStoreDb.query<{ global_position: string | number }>(
      'SELECT global_position FROM message_store.messages WHERE id = ANY($1::uuid[])',
      [written],
    );
    expect(positions).toHaveLength(written.length);
    // The admin portal finds every stream, with its count, in Message DB's own indexes.
    for (const streamName of streamNames)
      expect(await storeBrowser(system.store).findStream(streamName), streamName).toMatchObject({
        streamName,
        messageCount: (await system.store.read(streamName, { from: 0, max: 1000 })).length,
      });
    expect(lot.filter((message) => message.subscriberId.startsWith('aggregators:admin-'))).toEqual([]);
  });

  it('cannot reset an identity: a repeated Register after a toString event writes no second Registered or Send', async () => {
    const userId = randomUUID();
    const email = `hostile-${userId}@example.com`;
    const register = () =>
      Register.create({ userId, email, passwordHash: 'hash' }, { metadata: { traceId: randomUUID() } });
    await system.store.write(identityCommandStreamName(userId), register());
    await caughtUp();
    const emailId = registrationEmailId(email);
    expect((await system.store.read(sendEmailCommandStreamName(emailId))).map((message) => message.type)).toEqual([
      'Send',
    ]);

    const expectRegisteredOnce = async () => {
      const types = (await system.store.read(identityStreamName(userId))).map((message) => message.type);
      expect(types.filter((type) => type === 'Registered')).toEqual(['Registered']);
      expect(types.filter((type) => type === 'RegistrationEmailSent')).toEqual(['RegistrationEmailSent']);
      expect((await system.store.read(sendEmailCommandStreamName(emailId))).map((message) => message.type)).toEqual([
        'Send',
      ]);
      const emails = await readdir(path.join(directory, 'emails'));
      expect(emails.filter((file) => file.endsWith('.eml'))).toHaveLength(1);
    };
    // The exploit: toString (Object.prototype's) as the identity's reducer turned it into a string.
    await writeMessage(identityStreamName(userId), 'toString', '{}', null);
    await system.store.write(identityCommandStreamName(userId), register());
    await caughtUp();
    await expectRegisteredOnce();

    for (const type of HOSTILE_TYPES) await writeMessage(identityStreamName(userId), type, '{}', null);
    await system.store.write(identityCommandStreamName(userId), register());
    await caughtUp();
    await expectRegisteredOnce();
    const lot = await parked();
    expect(lot.filter((message) => message.streamName.endsWith(userId))).toEqual([]);
  });
});
