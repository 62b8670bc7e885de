/**
 * The operations command line, parsed: `start` (the default), `populate`,
 * `rebuild <aggregator>`, and `--help` for the program and every command.
 * Parsing only — running them is in run.ts.
 */
import { parseArgs } from 'node:util';
import { PIECE_NAMES } from '../pieces.js';
import type { Selection } from '../system.js';
import { DEFAULT_PASSWORD, POPULATE_DEFAULTS } from './populate.js';
import {
  findRebuildableAggregator,
  REBUILDABLE_AGGREGATORS,
  UnknownAggregatorError,
  type RebuildableAggregator,
} from './rebuildable-aggregators.js';

export type ParsedCommand =
  | { command: 'help'; text: string }
  | { command: 'start'; selection: Selection }
  | { command: 'populate'; users: number; viewings: number; videos: number; password: string }
  | { command: 'rebuild'; aggregator: RebuildableAggregator; keepOld: boolean };

/** Wrong arguments: the message is one line, and the user is pointed to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const COMMAND_NAMES = ['start', 'populate', 'rebuild'] as const;
type CommandName = (typeof COMMAND_NAMES)[number];

const ENVIRONMENT = `Environment: MESSAGE_STORE_CONNECTION_STRING and DATABASE_URL (PostgreSQL;
embedded PGlite under DATA_DIRECTORY without them), PORT (3000), COOKIE_SECRET
(required when NODE_ENV=production), EMAIL_DIRECTORY, SMTP_URL,
SYSTEM_SENDER_EMAIL_ADDRESS, APP_NAME, NODE_ENV, PASSWORD_HASH_ALGORITHM
(argon2id; bcrypt while the book's web pages share the message store). All in
the README's settings table.`;

const EMBEDDED_NOTE = `The embedded PGlite can be opened by one process at a time: on it, stop a
running "npm start" first (the command says so if you forget). On PostgreSQL
it runs next to the running system.`;

export const PROGRAM_HELP = `Usage: npm start -- [command] [options]
       (or, once the toolkit is built by "npm run build":
        npx tsx packages/video-tutorials/src/main.ts [command] [options])

Video Tutorials, and the operations on it.

Commands:
  start                 run the system (the default: "npm start" alone runs everything)
  populate              write the book's example data: registrations and viewings
  rebuild <aggregator>  replay one aggregator's View Data into new tables and
                        swap them in, without downtime

Run "npm start -- <command> --help" (or "npm start -- help <command>") for
a command's options.

Options:
  -h, --help            show this help

${ENVIRONMENT}
`;

export const START_HELP = `Usage: npm start -- [start] [options]

Runs Video Tutorials. Without options: the web applications and every
component and aggregator, in this one process. "start" is the default
command, so "npm start -- --web" is "npm start -- start --web".

Options:
  --web             run the web applications
  --workers         run every component and aggregator
  --only a,b        run only these components/aggregators (implies workers):
                    ${PIECE_NAMES.join(', ')}
  -h, --help        show this help

With neither --web nor --workers/--only, both run.

${ENVIRONMENT}
`;

export const POPULATE_HELP = `Usage: npm start -- populate [--users N] [--viewings M] [--videos K] [--password P]

Writes the book's example data into the message store, as the applications
write it, each message with its own trace id:
  - N registrations: a Register command to identity:command-{userId}, with an
    argon2id hash of the password, as the registration form writes it;
  - M viewings: VideoViewed events to viewing-{videoId}, spread over K example
    video ids (the same ids on every run), by the new users in turn.

Every new user's password is "${DEFAULT_PASSWORD}" (--password to choose
another); their e-mail addresses are user-<n>.<run>@example.com, printed at
the end.

It writes messages only. The identity component and the aggregators turn them
into accounts, e-mails and view counts when the workers run ("npm start", or
"npm start -- --workers"), now or later.

Options:
  --users N         registrations to write (default ${POPULATE_DEFAULTS.users})
  --viewings M      viewings to write (default ${POPULATE_DEFAULTS.viewings})
  --videos K        video ids the viewings are spread over (default ${POPULATE_DEFAULTS.videos})
  --password P      the new users' password (default "${DEFAULT_PASSWORD}"; 8 to 128 characters)
  -h, --help        show this help

${EMBEDDED_NOTE}

Environment: MESSAGE_STORE_CONNECTION_STRING (PostgreSQL), else the embedded
PGlite under DATA_DIRECTORY.
`;

export function rebuildHelp(registry: readonly RebuildableAggregator[] = REBUILDABLE_AGGREGATORS): string {
  const width = Math.max(...registry.map((aggregator) => aggregator.name.length)) + 2;
  const aggregators = registry
    .map((aggregator) => `  ${aggregator.name.padEnd(width)}${aggregator.tables.map((table) => table.name).join(', ')}`)
    .join('\n');
  return `Usage: npm start -- rebuild <aggregator> [--keep-old]

Rebuilds one aggregator's View Data from the message store, without downtime:
  1. creates its tables afresh in a schema rebuild_<aggregator>_<time>, shaped
     as the live ones;
  2. replays its category from the start into them with its own code, while
     the live tables keep serving (a progress bar shows messages replayed);
  3. caught up, in one short transaction: locks the live tables, applies what
     arrived meanwhile, swaps the new tables in and records the aggregator's
     position (in View Data's consumer_positions);
  4. drops the replaced tables (--keep-old keeps them, in a schema
     replaced_<aggregator>_<time>).
Readers wait only for that last transaction. A running aggregator carries on
into the new tables from its own position: applying a message twice changes
nothing.

Aggregators, and the tables each owns:
${aggregators}

Options:
  --keep-old        keep the replaced tables in replaced_<aggregator>_<time>
  -h, --help        show this help

${EMBEDDED_NOTE}

Environment: MESSAGE_STORE_CONNECTION_STRING and DATABASE_URL (View Data;
default: with the message store), else the embedded PGlite under DATA_DIRECTORY.
`;
}

export function helpOf(command: CommandName): string {
  if (command === 'start') return START_HELP;
  if (command === 'populate') return POPULATE_HELP;
  return rebuildHelp();
}

const isCommand = (name: string | undefined): name is CommandName =>
  (COMMAND_NAMES as readonly string[]).includes(name ?? '');

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv;
  if (first === undefined) return { command: 'start', selection: { web: true, workers: true } };
  if (first === '-h' || first === '--help') return { command: 'help', text: PROGRAM_HELP };
  if (first === 'help') {
    if (rest.length === 0) return { command: 'help', text: PROGRAM_HELP };
    if (!isCommand(rest[0]) || rest.length > 1)
      throw new UsageError(`No help on "${rest.join(' ')}": ${commandList()}`);
    return { command: 'help', text: helpOf(rest[0]) };
  }
  // Options without a command are start's, as before there were commands.
  if (first.startsWith('-')) return parseStart(argv);
  if (!isCommand(first)) throw new UsageError(`Unknown command "${first}": ${commandList()}`);
  if (first === 'start') return parseStart(rest);
  if (first === 'populate') return parsePopulate(rest);
  return parseRebuild(rest);
}

const commandList = () => `the commands are ${COMMAND_NAMES.join(', ')}`;

/** node:util parseArgs' errors (unknown option, missing value…) as usage errors. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseStart(args: readonly string[]): ParsedCommand {
  const { values } = usage(() =>
    parseArgs({
      args: [...args],
      options: {
        web: { type: 'boolean' },
        workers: { type: 'boolean' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return { command: 'help', text: START_HELP };
  const only = values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of only ?? [])
    if (!PIECE_NAMES.includes(name))
      throw new UsageError(`Unknown component or aggregator "${name}": choose from ${PIECE_NAMES.join(', ')}`);
  const anyChosen = values.web || values.workers || only;
  return {
    command: 'start',
    selection: {
      web: anyChosen ? Boolean(values.web) : true,
      workers: only ?? (anyChosen ? Boolean(values.workers) : true),
    },
  };
}

function parsePopulate(args: readonly string[]): ParsedCommand {
  const { values } = usage(() =>
    parseArgs({
      args: [...args],
      options: {
        users: { type: 'string' },
        viewings: { type: 'string' },
        videos: { type: 'string' },
        password: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return { command: 'help', text: POPULATE_HELP };
  const password = values.password ?? DEFAULT_PASSWORD;
  if (password.length < 8 || password.length > 128)
    throw new UsageError('--password must be 8 to 128 characters long, as the registration form asks');
  return {
    command: 'populate',
    users: count('--users', values.users, POPULATE_DEFAULTS.users, 0, 1_000_000),
    viewings: count('--viewings', values.viewings, POPULATE_DEFAULTS.viewings, 0, 100_000_000),
    videos: count('--videos', values.videos, POPULATE_DEFAULTS.videos, 1, 10_000),
    password,
  };
}

function count(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value.replaceAll('_', '')) ? Number(value.replaceAll('_', '')) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max.toLocaleString('en')}, not "${value}"`);
  return number;
}

function parseRebuild(args: readonly string[]): ParsedCommand {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { 'keep-old': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }),
  );
  if (values.help) return { command: 'help', text: rebuildHelp() };
  const names = REBUILDABLE_AGGREGATORS.map((aggregator) => aggregator.name).join(', ');
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? `rebuild needs the name of an aggregator: ${names}`
        : `rebuild takes one aggregator at a time, not ${positionals.join(' ')}`,
    );
  try {
    return {
      command: 'rebuild',
      aggregator: findRebuildableAggregator(positionals[0]!),
      keepOld: !!values['keep-old'],
    };
  } catch (error) {
    if (error instanceof UnknownAggregatorError) throw new UsageError(error.message);
    throw error;
  }
}
