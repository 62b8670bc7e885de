/**
 * The command line: `start` runs the system — everything in one process by
 * default, or only the web applications, or only (some of) the workers.
 */
import { parseArgs } from 'node:util';
import { ConfigError, readConfig } from './config.js';
import { PIECE_NAMES, startSystem, type Selection } from './system.js';

const HELP = `Usage: npm start -- [options]        (or: tsx packages/video-tutorials/src/main.ts start [options])

Runs Video Tutorials. Without options: the web applications and every
component and aggregator, in this one process.

Options:
  --web             run the web applications
  --workers         run every component and aggregator
  --only a,b        run only these components/aggregators (implies workers):
                    ${PIECE_NAMES.join(', ')}
  -h, --help        show this help

With neither --web nor --workers/--only, both run.

Environment: PORT (3000), MESSAGE_STORE_CONNECTION_STRING and DATABASE_URL
(PostgreSQL; embedded PGlite under DATA_DIRECTORY without them), COOKIE_SECRET
(required when NODE_ENV=production), EMAIL_DIRECTORY, SMTP_URL,
SYSTEM_SENDER_EMAIL_ADDRESS, APP_NAME, NODE_ENV.
`;

function parseSelection(argv: string[]): Selection | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      web: { type: 'boolean' },
      workers: { type: 'boolean' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const command = positionals[0] ?? 'start';
  if (command !== 'start' || positionals.length > 1) throw new UsageError(`Unknown command: ${positionals.join(' ')}`);
  const only = values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of only ?? [])
    if (!(PIECE_NAMES as readonly string[]).includes(name))
      throw new UsageError(`Unknown component or aggregator "${name}": choose from ${PIECE_NAMES.join(', ')}`);
  const anyChosen = values.web || values.workers || only;
  return {
    web: anyChosen ? Boolean(values.web) : true,
    workers: only ?? (anyChosen ? Boolean(values.workers) : true),
  };
}

class UsageError extends Error {}

async function main() {
  let selection: Selection | 'help';
  try {
    selection = parseSelection(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nSee --help.`);
    process.exit(2);
  }
  if (selection === 'help') {
    process.stdout.write(HELP);
    return;
  }
  let config;
  try {
    config = readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

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
  }
}

main().catch((error: unknown) => {
  console.error(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
