/**
 * Runs a parsed command with the same configuration and databases as `start`.
 * Exit codes: 0 done, 1 failed, 2 wrong arguments, 130 interrupted.
 */
import { createMessageStore, installMessageDb, type Database } from 'message-db-toolkit';
import { ConfigError, readConfig, type Config } from '../config.js';
import { openMessageStoreDatabase, openViewData, startSystem, type Selection } from '../system.js';
import { migrateViewData } from '../view-data/migrations.js';
import { parseCommandLine, UsageError, type ParsedCommand } from './commands.js';
import { DataDirectoryInUseError } from '../data-directory-lock.js';
import { populate } from './populate.js';
import { createProgressBar } from './progress.js';
import { rebuildAggregator } from './rebuild.js';
import type { RebuildableAggregator } from './rebuildable-aggregators.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string) => process.stderr.write(`${line}\n`);

/** Runs the command line; resolves to the exit code, or to `undefined` while `start` keeps running. */
export async function runCommandLine(argv: readonly string[]): Promise<number | undefined> {
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(`${error.message}\nSee --help.`);
    return 2;
  }
  if (parsed.command === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  let config: Config;
  try {
    config = readConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(`Configuration error: ${error.message}`);
    return 1;
  }
  try {
    if (parsed.command === 'start') return await start(config, parsed.selection);
    if (parsed.command === 'populate') return await runPopulate(config, parsed);
    return await runRebuild(config, parsed.aggregator, parsed.keepOld);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof DataDirectoryInUseError) fail(message);
    else fail(`${parsed.command === 'start' ? 'Start-up' : parsed.command} failed: ${message}`);
    return 1;
  }
}

async function start(config: Config, selection: Selection): Promise<undefined> {
  const system = await startSystem(config, selection);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    system.logger.info({ signal }, 'stopping: finishing messages in hand');
    try {
      await system.stop();
      process.exit(0);
    } catch (error) {
      system.logger.error({ err: error }, 'failed to stop cleanly');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  if (system.web) {
    await system.web.listen({ port: config.port, host: '0.0.0.0' });
    system.logger.info(`Video Tutorials is at http://localhost:${config.port}`);
  } else if (system.operations) {
    // The work goes on without it: a port already taken only costs this worker its metrics endpoint.
    await system.operations.listen({ port: config.port, host: '0.0.0.0' }).then(
      () => system.logger.info(`metrics and health of this worker at http://localhost:${config.port}/metrics`),
      (error: unknown) => system.logger.error({ err: error, port: config.port }, 'metrics and health not served'),
    );
  }
  return undefined;
}

/** Opens the databases as `start` does, and closes them however `work` ends. */
async function withDatabases<T>(
  config: Config,
  work: (databases: { messageStoreDb: Database; viewData: Database }) => Promise<T>,
): Promise<T> {
  const messageStoreDb = await openMessageStoreDatabase(config);
  const viewData = openViewData(config, messageStoreDb);
  try {
    await installMessageDb(messageStoreDb);
    return await work({ messageStoreDb, viewData });
  } finally {
    if (viewData !== messageStoreDb) await viewData.close().catch(() => {});
    await messageStoreDb.close().catch(() => {});
  }
}

/** Ctrl-C stops the work between two steps (a rebuild then drops its new tables) instead of killing it mid-way. */
function interruptible() {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    fail('\nStopping after the step in hand (Ctrl-C again to quit at once)…');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    done() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

async function runPopulate(config: Config, options: Extract<ParsedCommand, { command: 'populate' }>): Promise<number> {
  const interrupt = interruptible();
  const bar = createProgressBar('Writing messages');
  try {
    const result = await withDatabases(config, ({ messageStoreDb }) =>
      populate({
        store: createMessageStore({ db: messageStoreDb }),
        users: options.users,
        viewings: options.viewings,
        videos: options.videos,
        password: options.password,
        signal: interrupt.signal,
        onProgress: (written, total) => bar.update(written, total),
      }),
    );
    bar.stop();
    out(
      `Wrote ${result.users.length} Register command${result.users.length === 1 ? '' : 's'} (identity:command-{userId}) ` +
        `and ${result.viewings} VideoViewed event${result.viewings === 1 ? '' : 's'} ` +
        `over ${result.videoIds.length} video${result.videoIds.length === 1 ? '' : 's'} (viewing-{videoId}).`,
    );
    if (result.users.length > 0) {
      const first = result.users[0]!.email;
      const last = result.users.at(-1)!.email;
      out(
        `Users: ${first}${result.users.length > 1 ? ` … ${last}` : ''}, password "${result.password}" ` +
          `(they can log in once identity has registered them).`,
      );
    }
    out(
      'These are messages only: the identity component and the aggregators turn them into accounts, ' +
        'e-mails and view counts when the workers run (npm start).',
    );
    return 0;
  } catch (error) {
    bar.stop();
    if (interrupt.signal.aborted) {
      fail('Interrupted: some of the messages were written.');
      return 130;
    }
    throw error;
  } finally {
    interrupt.done();
  }
}

async function runRebuild(config: Config, aggregator: RebuildableAggregator, keepOld: boolean): Promise<number> {
  const interrupt = interruptible();
  const bar = createProgressBar(`Replaying ${aggregator.streamName} for ${aggregator.name}`);
  try {
    const result = await withDatabases(config, async ({ messageStoreDb, viewData }) => {
      await migrateViewData(viewData);
      out(
        `Rebuilding ${aggregator.name} (${aggregator.tables.map((table) => table.name).join(', ')}) from ${aggregator.streamName}…`,
      );
      return rebuildAggregator({
        store: createMessageStore({ db: messageStoreDb }),
        viewData,
        aggregator,
        keepOld,
        signal: interrupt.signal,
        onProgress: ({ messages, total }) => bar.update(messages, total),
      });
    });
    bar.stop();
    out(
      `Rebuilt ${result.aggregator}: ${result.messages.toLocaleString('en')} messages replayed in ` +
        `${(result.durationMs / 1000).toFixed(1)} s; ${result.tables.join(', ')} swapped in ` +
        `(live tables locked for ${result.swapMs} ms); ` +
        `position ${result.position} recorded in ${result.positionRecordedIn}.`,
    );
    if (result.dropFailure)
      fail(`The replaced tables could not be dropped (${result.dropFailure}); they are in schema ${result.keptIn}.`);
    else if (result.keptIn) out(`The replaced tables are kept in schema ${result.keptIn}.`);
    else out('The replaced tables were dropped.');
    return 0;
  } catch (error) {
    bar.stop();
    if (interrupt.signal.aborted) {
      fail('Interrupted: the live tables were left as they were.');
      return 130;
    }
    throw error;
  } finally {
    interrupt.done();
  }
}
