/**
 * Admin portal page times with a million messages, on a fresh PostgreSQL database:
 * bulk-inserts the messages with one INSERT … SELECT … FROM generate_series, runs the admin
 * aggregators' catch-up, then times every admin page through Fastify's inject (median of 5).
 *
 *   npx tsx packages/video-tutorials/bench/admin.ts [--messages 1000000] [--postgres URL] [--keep] [--explain]
 *
 * Not part of the test suite.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMessageStore, installMessageDb, type Database } from 'message-db-toolkit';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createFreshPostgresDatabase } from 'message-db-toolkit/controls';
import * as adminMessageIndex from '../src/aggregators/admin-message-index/index.js';
import * as adminStreams from '../src/aggregators/admin-streams/index.js';
import * as adminSubscriberPositions from '../src/aggregators/admin-subscriber-positions/index.js';
import * as adminUsers from '../src/aggregators/admin-users/index.js';
import * as registrationMonitor from '../src/aggregators/registration-monitor/index.js';
import { createAdminApp } from '../src/app/admin/index.js';
import { createAuthenticateApp } from '../src/app/authenticate/index.js';
import { createSessions } from '../src/app/authenticate/sessions.js';
import { describePostgresUrl } from '../src/config.js';
import { hashPassword } from '../src/passwords.js';
import { migrateViewData, SHARED_SEARCH_PATH } from '../src/view-data/migrations.js';
import { browserSession } from '../src/test-support/browser-session.js';
import { buildWebServer } from '../src/web/server.js';

const { values: options } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    postgres: {
      type: 'string',
      default: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    keep: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    parked: { type: 'string', default: '5' },
  },
});
const total = Number(options.messages);
const USERS = 10_000;
const VIDEOS = 5_000;
const RUNS = 5;

const fresh = await createFreshPostgresDatabase(options.postgres, 'admin_bench');
console.log(`database ${fresh.name} on ${describePostgresUrl(options.postgres)}`);
const db = createPostgresDatabase({ connectionString: fresh.connectionString, searchPath: SHARED_SEARCH_PATH });
try {
  await installMessageDb(db);
  await migrateViewData(db);
  await timed(`insert ${total.toLocaleString('en-US')} messages`, () => insertMessages(db, total));
  await timed(`park ${options.parked} of send-email's commands`, () => parkMessages(db, Number(options.parked)));
  await timed('analyze', () => db.exec('ANALYZE'));

  const store = createMessageStore({ db });
  const pieces = [adminUsers, adminStreams, adminSubscriberPositions, adminMessageIndex].map((aggregator) =>
    aggregator.build({ store, viewData: db }),
  );
  // The health page also lists the registration monitor's flags: give it its table too.
  const monitor = registrationMonitor.build({ store, viewData: db });
  await timed('registration monitor catches up (identity)', async () => {
    await monitor.start();
    await monitor.subscriptions[0]!.waitUntilCaughtUp({ timeoutMs: 60 * 60_000 });
    await monitor.stop();
  });
  await timed('admin aggregators catch up (4 $all subscriptions at once)', async () => {
    for (const piece of pieces) await piece.start();
    await Promise.all(
      pieces
        .flatMap((piece) => piece.subscriptions)
        .map((subscription) => subscription.waitUntilCaughtUp({ timeoutMs: 60 * 60_000 })),
    );
    for (const piece of pieces) await piece.stop();
  });
  // What autovacuum does soon after a bulk load; index-only scans need the visibility map.
  await timed('vacuum analyze', () => db.exec('VACUUM ANALYZE'));
  await printSizes(db);

  const adminEmail = 'admin@example.com';
  const app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: randomUUID() + randomUUID(),
    secureCookies: false,
    adminEmails: [adminEmail],
    sessions: createSessions({ store, viewData: db }),
    applications: [
      createAuthenticateApp({ store, viewData: db, logInAttemptsPerMinute: 1000 }),
      createAdminApp({ store, viewData: db, adminEmails: [adminEmail] }),
    ],
  });
  await db.query('INSERT INTO user_credentials (id, email, password_hash, email_confirmed) VALUES ($1, $2, $3, true)', [
    randomUUID(),
    adminEmail,
    await hashPassword('admin password'),
  ]);
  const browser = browserSession(app);
  await browser.get('/auth/log-in');
  await browser.post('/auth/log-in', { email: adminEmail, password: 'admin password' });

  const [busiestUser] = await db.query<{ user_id: string }>(
    `SELECT user_id FROM admin_messages_by_user GROUP BY user_id ORDER BY count(*) DESC LIMIT 1`,
  );
  const [middle] = await db.query<{ id: string; trace_id: string; stream_name: string }>(
    `SELECT id::text AS id, metadata->>'traceId' AS trace_id, stream_name FROM message_store.messages
      WHERE global_position = (SELECT global_position FROM message_store.messages
                                WHERE type = 'RegistrationEmailSent' AND global_position >= $1
                                ORDER BY global_position LIMIT 1)`,
    [Math.floor(total / 2)],
  );
  const [viewingStream] = await db.query<{ stream_name: string }>(
    `SELECT stream_name FROM message_store.messages WHERE message_store.category(stream_name) = 'viewing'
      ORDER BY position DESC LIMIT 1`,
  );
  const pages = [
    '/admin',
    '/admin/users',
    '/admin/users?search=user5',
    `/admin/users/${busiestUser!.user_id}`,
    '/admin/messages',
    `/admin/messages?before=${Math.floor(total / 2)}`,
    '/admin/messages?category=identity',
    '/admin/messages?category=identity&before=10000',
    '/admin/messages?type=UserLoginFailed',
    '/admin/messages?category=identity&type=RegistrationEmailSent',
    `/admin/messages/${middle!.id}`,
    `/admin/traces/${middle!.trace_id}`,
    '/admin/streams',
    '/admin/streams?category=authentication',
    `/admin/streams?before=${Math.floor(total / 2)}`,
    // 12 streams written to again and again: a page scans its whole window.
    '/admin/streams?category=subscriberPosition',
    `/admin/streams/${encodeURIComponent(viewingStream!.stream_name)}`,
    `/admin/streams/${encodeURIComponent(middle!.stream_name)}`,
    '/admin/categories',
    '/admin/subscriber-positions',
  ];
  console.log(`\npage times, median of ${RUNS} (after one warm-up), through app.inject:`);
  for (const url of pages) {
    const first = await browser.get(url);
    if (first.statusCode !== 200) throw new Error(`${url} answered ${first.statusCode}`);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      await browser.get(url);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  ${times[Math.floor(RUNS / 2)]!.toFixed(1).padStart(7)} ms  ${url}  (${Math.round(first.body.length / 1024)} KiB)`,
    );
  }
  await app.close();
  if (options.explain) await explain(db, middle!.trace_id, busiestUser!.user_id);
} finally {
  await db.close();
  if (options.keep) console.log(`kept database ${fresh.name}`);
  else await fresh.drop();
}

async function timed(label: string, work: () => Promise<unknown>) {
  const started = performance.now();
  await work();
  console.log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The system's message mix, in groups of five consecutive global positions: 5% registrations (a
 * traced chain Register → Registered → Send → Sent → RegistrationEmailSent, each caused by the one
 * before), 15% log-ins (1 in 5 failed), 60% viewings, 10% naming and describing videos (command →
 * event pairs), 10% consumers' position records.
 */
async function insertMessages(target: Database, count: number) {
  // Version 4 UUIDs (the contracts validate them) made from a hash, so the same run makes the same ids.
  const uuidOf = (text: string) => `overlay(overlay(md5(${text}) placing '4' from 13) placing '8' from 17)::uuid::text`;
  await target.query(
    `INSERT INTO message_store.messages (global_position, position, time, stream_name, type, data, metadata, id)
     SELECT i, row_number() OVER (PARTITION BY stream_name ORDER BY i) - 1, time, stream_name, type, data, metadata, id
       FROM (
         SELECT i, stream_name, type, data,
                CASE WHEN stream_name LIKE 'subscriberPosition-%' THEN NULL
                     ELSE jsonb_strip_nulls(jsonb_build_object(
                            'traceId', trace_id, 'userId', user_id,
                            'causationMessageGlobalPosition', CASE WHEN caused THEN i - 1 END,
                            'originStreamName', origin)) END AS metadata,
                ${uuidOf(`'message' || i`)}::uuid AS id,
                (now() AT TIME ZONE 'utc') - ($1::bigint - i) * interval '50 milliseconds' AS time
           FROM (
             SELECT i, k, j, user_id, video_id, email_id, n,
                    CASE WHEN k = 0 OR k BETWEEN 16 AND 17 THEN ${uuidOf(`'trace' || g`)}
                         WHEN k BETWEEN 18 AND 19 THEN NULL
                         ELSE ${uuidOf(`'trace-' || i`)} END AS trace_id,
                    (k = 0 OR k BETWEEN 16 AND 17) AND j > 0 AS caused,
                    CASE WHEN k = 0 AND j = 2 THEN 'identity-' || user_id END AS origin,
                    CASE
                      WHEN k = 0 THEN (ARRAY['identity:command-' || user_id, 'identity-' || user_id,
                                             'sendEmail:command-' || email_id, 'sendEmail-' || email_id,
                                             'identity-' || user_id])[j + 1]
                      WHEN k <= 3 THEN 'authentication-' || user_id
                      WHEN k <= 15 THEN 'viewing-' || video_id
                      WHEN k <= 17 THEN (ARRAY['videoPublishing:command-', 'videoPublishing-'])[j % 2 + 1] || video_id
                      ELSE 'subscriberPosition-' || (ARRAY['components:identity', 'components:identity:command',
                             'components:send-email', 'aggregators:home-page', 'aggregators:video-views',
                             'aggregators:user-credentials', 'aggregators:video-operations',
                             'components:video-publishing', 'aggregators:catalogue', 'aggregators:creators-videos',
                             'components:identity:authenticationEvents', 'components:identity:sendEmailEvents'])[i % 12 + 1]
                    END AS stream_name,
                    CASE
                      WHEN k = 0 THEN (ARRAY['Register', 'Registered', 'Send', 'Sent', 'RegistrationEmailSent'])[j + 1]
                      WHEN k <= 3 THEN CASE WHEN j = 4 THEN 'UserLoginFailed' ELSE 'UserLoggedIn' END
                      WHEN k <= 15 THEN 'VideoViewed'
                      WHEN k <= 17 THEN (ARRAY['NameVideo', 'VideoNamed', 'DescribeVideo', 'VideoDescribed', 'NameVideo'])[j + 1]
                      ELSE 'Read'
                    END AS type,
                    CASE
                      WHEN k = 0 AND j IN (0, 1) THEN jsonb_build_object('userId', user_id, 'email', 'user' || n || '@example.com',
                                                                         'passwordHash', '$argon2id$v=19$m=19456,t=2,p=1$bench')
                      WHEN k = 0 AND j IN (2, 3) THEN jsonb_build_object('emailId', email_id, 'to', 'user' || n || '@example.com',
                                                                         'subject', 'Welcome', 'text', 'Welcome aboard.',
                                                                         'html', '<p>Welcome aboard.</p>')
                      WHEN k = 0 THEN jsonb_build_object('userId', user_id, 'emailId', email_id)
                      WHEN k <= 3 AND j = 4 THEN jsonb_build_object('userId', user_id, 'reason', 'Incorrect password')
                      WHEN k <= 3 THEN jsonb_build_object('userId', user_id)
                      WHEN k <= 15 THEN jsonb_build_object('userId', user_id, 'videoId', video_id)
                      WHEN k <= 17 AND j IN (0, 1, 4) THEN jsonb_build_object('videoId', video_id, 'name', 'Video ' || i)
                      WHEN k <= 17 THEN jsonb_build_object('videoId', video_id, 'description', 'About video ' || i)
                      ELSE jsonb_build_object('position', i - 1)
                    END AS data
               FROM (
                 SELECT i, g, j, k, n,
                        ${uuidOf(`'user' || n`)} AS user_id,
                        ${uuidOf(`'video' || CASE WHEN k BETWEEN 16 AND 17 THEN g % $3::int ELSE (hashint8(-i) & 2147483647) % $3::int END`)}
                          AS video_id,
                        ${uuidOf(`'email' || n`)} AS email_id
                   FROM (
                     SELECT i, (i - 1) / 5 AS g, (i - 1) % 5 AS j, ((i - 1) / 5) % 20 AS k,
                            CASE WHEN ((i - 1) / 5) % 20 = 0 THEN ((i - 1) / 100) % $2::int
                                 ELSE (hashint8(i) & 2147483647) % $2::int END AS n
                       FROM generate_series(1, $1::bigint) AS i
                   ) AS numbered
               ) AS keyed
           ) AS shaped
       ) AS messages
      ORDER BY i`,
    [count, USERS, VIDEOS],
  );
  await target.query(`SELECT setval(pg_get_serial_sequence('message_store.messages', 'global_position'), $1::bigint)`, [
    count,
  ]);
}

/** Parks `count` Send commands in send-email's parking lot, as its consumer would have. */
async function parkMessages(target: Database, count: number) {
  await target.query(
    `INSERT INTO message_store.messages (stream_name, position, type, data, id)
     SELECT 'parkedMessages-components:send-email', row_number() OVER (ORDER BY global_position) - 1, 'MessageParked',
            jsonb_build_object('messageId', id, 'streamName', stream_name, 'position', position,
                               'globalPosition', global_position, 'type', type, 'consumerStreamName', 'sendEmail:command',
                               'subscriberId', 'components:send-email', 'member', NULL,
                               'error', 'Error: the SMTP server refused the connection', 'attempts', 3,
                               'parkedAt', to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                               'state', 'parked'),
            gen_random_uuid()
       FROM (SELECT * FROM message_store.messages WHERE type = 'Send' ORDER BY global_position LIMIT $1) AS sends`,
    [count],
  );
}

async function printSizes(target: Database) {
  const rows = await target.query<{ name: string; rows: string; size: string }>(
    `SELECT c.relname AS name, c.reltuples::bigint::text AS rows, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND (c.relname LIKE 'admin\\_%' OR (n.nspname = 'message_store' AND c.relname = 'messages'))
      ORDER BY pg_total_relation_size(c.oid) DESC`,
  );
  console.log('\ntables (rows, size with indexes):');
  for (const row of rows) console.log(`  ${row.name.padEnd(28)} ${row.rows.padStart(9)}  ${row.size}`);
}

/** The plans of the heaviest statements, to show they use indexes. */
async function explain(target: Database, traceId: string, userId: string) {
  const statements: [string, unknown[]][] = [
    [
      `SELECT global_position FROM message_store.messages WHERE message_store.category(stream_name) = 'identity'
        AND global_position < 10000 ORDER BY global_position DESC LIMIT 51`,
      [],
    ],
    [
      `SELECT max(global_position) FROM message_store.messages WHERE message_store.category(stream_name) = 'viewing'`,
      [],
    ],
    [
      `SELECT global_position FROM admin_messages_by_trace WHERE trace_id = $1 ORDER BY global_position LIMIT 1001`,
      [traceId],
    ],
    [
      `SELECT global_position FROM admin_messages_by_user WHERE user_id = $1 AND type = 'VideoViewed'
        ORDER BY global_position DESC LIMIT 20`,
      [userId],
    ],
    [
      `SELECT global_position FROM (SELECT global_position, type FROM message_store.messages
         WHERE message_store.category(stream_name) = 'identity' ORDER BY global_position DESC LIMIT 2000) AS searched
        WHERE type = 'RegistrationEmailSent' ORDER BY global_position DESC LIMIT 51`,
      [],
    ],
  ];
  for (const [sql, params] of statements) {
    const plan = await target.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params);
    console.log(`\n${sql.replace(/\s+/g, ' ')}\n${plan.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`);
  }
}
