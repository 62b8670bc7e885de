import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  eventually,
  testDatabaseKind,
  uniqueCategory,
  type TestDatabase,
} from './controls/index.js';
import type { Database } from './database/port.js';
import { createMessageStore, type MessageStore } from './store.js';

/**
 * What a failover, a server restart or a connection proxy does to busy consumers: every connection of the
 * database is terminated (`pg_terminate_backend`), several times, while real worker processes
 * (lost-connections.worker.ts) are in the middle of transactions. No process may die, and every message
 * must be handled once in effect.
 */
const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lost-connections.worker.ts');
const TERMINATIONS = 5;
/** Waits that query the database ask every 100 ms: its connections are being terminated meanwhile. */
const patiently = { intervalMs: 100 };

interface Worker {
  child: ChildProcess;
  facts: Record<string, unknown>[];
  output: string[];
  errors: string[];
}

describe.runIf(testDatabaseKind === 'postgres')(
  'when every connection is terminated while consumers are busy (PostgreSQL only: PGlite has no connections to lose)',
  () => {
    let test: TestDatabase;
    let store: MessageStore;
    let killer: Database;
    let databaseName = '';
    const workers: Worker[] = [];

    beforeAll(async () => {
      test = await createTestDatabase();
      store = createMessageStore({ db: test.db, reconnectAttempts: 20 });
      killer = test.connectAgain();
      const [row] = await killer.query<{ name: string }>('SELECT current_database() AS name');
      databaseName = row!.name;
    });
    afterAll(async () => {
      for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await test?.drop();
    });

    function startWorker(mode: string, env: Record<string, string>): Worker {
      const child = spawn(process.execPath, ['--import', 'tsx', worker], {
        env: { ...process.env, WORKER_MODE: mode, WORKER_DATABASE_URL: test.connectionString!, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const started: Worker = { child, facts: [], output: [], errors: [] };
      let partial = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          started.output.push(line);
          try {
            started.facts.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not a fact: kept in the output
          }
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => started.errors.push(chunk.toString()));
      workers.push(started);
      return started;
    }

    const alive = (each: Worker) => each.child.exitCode === null && each.child.signalCode === null;
    const dump = (each: Worker) =>
      `exit ${each.child.exitCode ?? each.child.signalCode}:\n${each.output.join('\n').slice(-1500)}\n${each.errors.join('').slice(-4000)}`;

    /** Terminates every other connection of the test database; returns how many there were. */
    async function terminateAll(): Promise<number> {
      const rows = await killer.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [databaseName],
      );
      return rows.filter((row) => row.terminated).length;
    }

    async function terminateRepeatedly(): Promise<number[]> {
      const counts: number[] = [];
      for (let round = 0; round < TERMINATIONS; round++) {
        // A consumer backing off may hold no connection for a moment: each round waits for one to terminate.
        const terminated = await eventually(async () => (await terminateAll()) || false, {
          intervalMs: 50,
          timeoutMs: 2_000,
          what: 'a connection to terminate',
        }).catch(() => 0);
        counts.push(terminated);
        // Not a wait for anything: the consumers get a moment of work between two losses.
        await sleep(200);
      }
      return counts;
    }

    /**
     * Waits until each member slot (`null` without a consumer group) has found nothing more to read past the
     * last message of `category` it is given, as Message DB shares a category out among `groupSize` members.
     * From then on nothing more is handled: what is stored is final.
     */
    async function caughtUpPastLastMessages(running: Worker[], category: string, groupSize: number | null = null) {
      const lastByMember = await test.db.query<{ member: number | null; last: string }>(
        `SELECT CASE WHEN $2::bigint IS NOT NULL
                     THEN MOD(@message_store.hash_64(message_store.cardinal_id(stream_name)), $2::bigint)::int
                END AS member,
                max(global_position) AS last
           FROM message_store.messages
          WHERE message_store.category(stream_name) = $1
          GROUP BY 1`,
        [category, groupSize],
      );
      const idleAt = (member: number | null, last: number) =>
        running.some((each) =>
          each.facts.some((fact) => fact.member === member && typeof fact.idle === 'number' && fact.idle >= last),
        );
      await eventually(() => lastByMember.every(({ member, last }) => idleAt(member, Number(last))), {
        ...patiently,
        timeoutMs: 10_000,
        what: 'every member caught up past its last message',
      });
    }

    /** Writes `Do` commands for `entities` entities; returns their ids, by entity. */
    async function writeCommands(category: string, entities: number, perEntity: number) {
      const commands = new Map<string, string[]>();
      for (let round = 0; round < perEntity; round++)
        for (let entity = 0; entity < entities; entity++) {
          const entityId = `e${entity}`;
          const id = randomUUID();
          await store.write(`${category}:command-${entityId}`, { id, type: 'Do', data: {} });
          commands.set(entityId, [...(commands.get(entityId) ?? []), id]);
        }
      return commands;
    }

    /** Every command became exactly one Accepted and one Done, in order, in its entity's stream. */
    async function expectHandledOnce(category: string, commands: Map<string, string[]>) {
      for (const [entityId, ids] of commands) {
        const events = await store.read(`${category}-${entityId}`, { from: 0, max: 10_000 });
        const expected = ids.flatMap((id) => [
          { type: 'Accepted', commandId: id },
          { type: 'Done', commandId: id },
        ]);
        const actual = events.map((event) => ({ type: event.type, commandId: event.data.commandId }));
        expect(new Set(actual.map((event) => `${event.type}|${String(event.commandId)}`)).size).toBe(actual.length);
        expect(actual.sort(byCommand)).toEqual(expected.sort(byCommand));
      }
    }

    const countEvents = async (category: string) =>
      (await store.read(category, { from: 0, max: 100_000 })).filter((event) => event.type === 'Done').length;

    it('(a) a consumer handling a stream of commands keeps running and handles each once', async () => {
      const category = uniqueCategory('lostA');
      const one = startWorker('commands', { WORKER_CATEGORY: category, WORKER_HANDLER_MS: '2' });
      await eventually(() => one.facts.some((fact) => fact.ready), {
        ...patiently,
        timeoutMs: 30_000,
        what: 'worker ready',
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${dump(one)}`);
      });
      const commands = await writeCommands(category, 10, 30);
      await eventually(async () => (await countEvents(category)) > 20, {
        ...patiently,
        timeoutMs: 30_000,
        what: 'first commands handled',
      });

      const terminated = await terminateRepeatedly();
      expect(alive(one), dump(one)).toBe(true);
      expect(Math.min(...terminated)).toBeGreaterThan(0);
      await eventually(async () => !alive(one) || (await countEvents(category)) >= 300, {
        ...patiently,
        timeoutMs: 45_000,
        what: 'every command handled',
      }).catch(() => {});
      expect(alive(one), dump(one)).toBe(true);
      await caughtUpPastLastMessages([one], `${category}:command`);
      await expectHandledOnce(category, commands);
    }, 90_000);

    it('(b) an aggregator catching up in batches keeps running and applies each message once', async () => {
      const category = uniqueCategory('lostB');
      const table = `tally_${category.toLowerCase()}`;
      await test.db.exec(`CREATE TABLE ${table} (entity text PRIMARY KEY, count integer NOT NULL)`);
      // The backlog is written first: the aggregator catches up in batches while it loses its connections.
      const ENTITIES = 20;
      const PER_ENTITY = 50;
      for (let entity = 0; entity < ENTITIES; entity++)
        await store.writeBatch(
          `${category}-e${entity}`,
          Array.from({ length: PER_ENTITY }, () => ({ id: randomUUID(), type: 'Counted', data: {} })),
        );
      const tally = async () =>
        (await test.db.query<{ total: number }>(`SELECT coalesce(sum(count), 0)::int AS total FROM ${table}`))[0]!
          .total;
      const one = startWorker('batch', { WORKER_CATEGORY: category, WORKER_TABLE: table });
      await eventually(async () => !alive(one) || (await tally()) > 0, {
        ...patiently,
        timeoutMs: 30_000,
        what: 'first batch applied',
      });

      const terminated = await terminateRepeatedly();
      expect(alive(one), dump(one)).toBe(true);
      expect(Math.min(...terminated)).toBeGreaterThan(0);
      const total = ENTITIES * PER_ENTITY;
      await eventually(async () => !alive(one) || (await tally()) >= total, {
        ...patiently,
        timeoutMs: 45_000,
        what: 'caught up',
      }).catch(() => {});
      expect(alive(one), dump(one)).toBe(true);
      await caughtUpPastLastMessages([one], category);
      const rows = await test.db.query<{ entity: string; count: number }>(`SELECT entity, count FROM ${table}`);
      expect(rows).toHaveLength(ENTITIES);
      for (const row of rows) expect(row).toEqual({ entity: row.entity, count: PER_ENTITY });
    }, 90_000);

    it('(c) a consumer group of 3 processes keeps running, one member per slot, each command once', async () => {
      const category = uniqueCategory('lostC');
      const group = [1, 2, 3].map(() => startWorker('group', { WORKER_CATEGORY: category, WORKER_HANDLER_MS: '10' }));
      const slotsHeld = () =>
        group.map((each) => {
          const last = each.facts.filter((fact) => Array.isArray(fact.members)).at(-1);
          return (last?.members as number[] | undefined) ?? [];
        });
      // Each process holds one slot (its fair share) before the work starts.
      await eventually(() => slotsHeld().every((members) => members.length === 1), {
        ...patiently,
        timeoutMs: 30_000,
        what: 'slots shared out',
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${JSON.stringify(slotsHeld())}\n${group.map(dump).join('\n')}`);
      });
      const commands = await writeCommands(category, 30, 10);
      await eventually(async () => (await countEvents(category)) > 30, {
        ...patiently,
        timeoutMs: 30_000,
        what: 'first commands handled',
      });

      const terminated = await terminateRepeatedly();
      for (const each of group) expect(alive(each), dump(each)).toBe(true);
      expect(Math.min(...terminated)).toBeGreaterThan(0);
      await eventually(async () => !group.every(alive) || (await countEvents(category)) >= 300, {
        ...patiently,
        timeoutMs: 45_000,
        what: 'every command handled',
      }).catch(() => {});
      for (const each of group) expect(alive(each), dump(each)).toBe(true);
      await caughtUpPastLastMessages(group, `${category}:command`, 3);
      await expectHandledOnce(category, commands);

      // No two processes ever ran a handler for the same slot at the same time.
      const calls = group.flatMap((each) =>
        each.facts
          .filter((fact) => typeof fact.attempt === 'string')
          .map((fact) => ({
            pid: Number(fact.pid),
            member: Number(fact.member),
            started: Number(fact.started),
            ended: Number(fact.ended),
          })),
      );
      const overlaps: string[] = [];
      for (const call of calls)
        for (const other of calls)
          if (
            call.member === other.member &&
            call.pid < other.pid &&
            call.started < other.ended &&
            other.started < call.ended
          )
            overlaps.push(`member ${call.member}: ${call.pid} and ${other.pid}`);
      const history = group.map((each) =>
        each.facts
          .filter((fact) => fact.members)
          .map((fact) => JSON.stringify(fact.members))
          .join(' '),
      );
      expect(overlaps, `slots held over time, by process:\n${history.join('\n')}`).toEqual([]);
      expect(new Set(calls.map((call) => call.member))).toEqual(new Set([0, 1, 2]));
      // The check above means something: lock sessions were lost while the work went on, and the slots were
      // given up and claimed again (by the same process or another: which one wins a slot is chance).
      const slotsGivenUp = group.map((each) => {
        const held = each.facts.filter((fact) => Array.isArray(fact.members)).map((fact) => fact.members as number[]);
        return held.some((members, index) => index > 0 && held[index - 1]!.some((slot) => !members.includes(slot)));
      });
      expect(slotsGivenUp.some(Boolean), `slots held over time, by process:\n${history.join('\n')}`).toBe(true);
    }, 120_000);
  },
);

function byCommand(a: { type: string; commandId: unknown }, b: { type: string; commandId: unknown }) {
  return `${String(a.commandId)}|${a.type}`.localeCompare(`${String(b.commandId)}|${b.type}`);
}
