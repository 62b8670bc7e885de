import { randomUUID } from 'node:crypto';
import { claimKey } from '../subscription.js';

/**
 * A writer stopped between taking its global position and getting its transaction id — what a
 * loaded machine does to a writer it deschedules in the middle of `write_message`'s insert (the
 * position is the column default; the xid comes with the row). PostgreSQL only: a trigger on
 * `message_store.messages` makes inserts to `category` wait on an advisory lock that the gate holds.
 */
export async function descheduledWriter(connectionString: string, category: string) {
  const gateKey = claimKey(`descheduled-writer:${category}`);
  const connect = async () => {
    // Loaded when used, so that importing the controls does not need `pg` (PostgreSQL only).
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString, options: '-c search_path=message_store,public' });
    await client.connect();
    return client;
  };
  const gate = await connect();
  const writer = await connect();
  const name = `descheduled_${gateKey >>> 0}`;
  // Waits in a BEFORE trigger: after the defaults (the position) were taken, before the row (the xid).
  await gate.query(`
    CREATE OR REPLACE FUNCTION public.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF split_part(NEW.stream_name, '-', 1) = '${category.replaceAll("'", "''")}' THEN
        PERFORM pg_advisory_lock(${gateKey});
        PERFORM pg_advisory_unlock(${gateKey});
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE INSERT ON message_store.messages
      FOR EACH ROW EXECUTE FUNCTION public.${name}();`);
  await gate.query('SELECT pg_advisory_lock($1)', [gateKey]);
  const writerPid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  return {
    /** Starts a write to `streamName` (in `category`) that holds its position until `resume`. */
    async write(streamName: string): Promise<{ written: Promise<unknown> }> {
      // A nextval that writes the sequence's WAL record takes an xid with it (every 32nd or so): this
      // one does, so the writer's does not. The position it burns is a hole, as a rollback leaves.
      await gate.query(`SELECT nextval('message_store.messages_global_position_seq')`);
      const written = writer.query(`SELECT message_store.write_message($1, $2, 'SomethingHappened', '{}'::jsonb)`, [
        randomUUID(),
        streamName,
      ]);
      written.catch(() => {});
      // Until it waits at the gate: it has its position and no xid.
      for (;;) {
        const { rows } = await gate.query<{ waiting: boolean; xid: string | null }>(
          `SELECT wait_event_type = 'Lock' AS waiting, backend_xid::text AS xid FROM pg_stat_activity WHERE pid = $1`,
          [writerPid],
        );
        if (rows[0]?.waiting) {
          if (rows[0].xid !== null) throw new Error('the descheduled writer already has an xid');
          return { written };
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    /** Lets the write go on to commit. */
    async resume() {
      await gate.query('SELECT pg_advisory_unlock($1)', [gateKey]);
    },
    async close() {
      await gate.query(`DROP TRIGGER IF EXISTS ${name} ON message_store.messages`).catch(() => {});
      await gate.query(`DROP FUNCTION IF EXISTS public.${name}()`).catch(() => {});
      await Promise.all([gate.end(), writer.end()]);
    },
  };
}
