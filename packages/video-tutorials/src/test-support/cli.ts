/** Helpers for the command line's tests. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { repositoryRoot } from '../config.js';

/** `tsx packages/video-tutorials/src/main.ts …` (what `npm start -- …` runs), from the repository root. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const tsx = path.join(repositoryRoot, 'node_modules/.bin/tsx');
  const { MESSAGE_STORE_CONNECTION_STRING: _a, DATABASE_URL: _b, ...inherited } = process.env;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      tsx,
      ['packages/video-tutorials/src/main.ts', ...args],
      { cwd: repositoryRoot, env: { ...inherited, NODE_ENV: 'test', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
