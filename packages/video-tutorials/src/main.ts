/**
 * The command line: `start` runs the system — everything in one process by
 * default, or only the web applications, or only (some of) the workers;
 * `populate` writes example data; `rebuild` rebuilds an aggregator's View
 * Data without downtime. See `--help`, and src/cli/.
 */
import { runCommandLine } from './cli/run.js';

runCommandLine(process.argv.slice(2)).then(
  (exitCode) => {
    // `start` resolves without one: its server and consumers keep the process running.
    if (exitCode !== undefined) process.exitCode = exitCode;
  },
  (error: unknown) => {
    console.error(`Failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
