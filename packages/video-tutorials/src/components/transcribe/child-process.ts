import { spawn } from 'node:child_process';

/** How a child process went: it never started (e.g. the command is not installed), or it ran and ended. */
export type ProcessRun =
  | { started: false; error: NodeJS.ErrnoException }
  | { started: true; exitCode: number | null; timedOut: boolean; stdout: string; stderr: string };

const MAX_STDOUT_BYTES = 16 * 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;

/**
 * Runs a command with its arguments as given — never through a shell — with
 * no input, and kills it when it runs longer than `timeoutMs`. Resolves in
 * every case: whether the command failed is the caller's to judge.
 */
export function runProcess(command: string, args: string[], { timeoutMs }: { timeoutMs: number }): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const stdout = new Output(MAX_STDOUT_BYTES, 'head');
    const stderr = new Output(MAX_STDERR_BYTES, 'tail');
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      Math.max(timeoutMs, 1),
    );
    child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Spawning failed (ENOENT, EACCES): no 'close' follows with an exit code worth waiting for.
      if (child.pid === undefined) resolve({ started: false, error });
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      if (child.pid === undefined) return;
      resolve({ started: true, exitCode, timedOut, stdout: stdout.text(), stderr: stderr.text() });
    });
  });
}

/** Keeps at most `limit` bytes of a stream: the first ones, or the last ones (where errors are). */
class Output {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly limit: number,
    private readonly keep: 'head' | 'tail',
  ) {}

  add(chunk: Buffer) {
    if (this.keep === 'head' && this.size >= this.limit) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.keep === 'tail' && this.size > 2 * this.limit) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(all.length - this.limit)];
      this.size = this.limit;
    }
  }

  text() {
    const all = Buffer.concat(this.chunks);
    return (this.keep === 'head' ? all.subarray(0, this.limit) : all.subarray(-this.limit)).toString('utf8');
  }
}

/** `message` without the absolute path, which means nothing outside this machine, in favour of `name`. */
export function withoutPath(message: string, filePath: string, name: string): string {
  return message.split(filePath).join(name);
}

/** A duration for people: `90 s`, `0.5 s`. */
export const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
