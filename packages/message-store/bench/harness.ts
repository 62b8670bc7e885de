/**
 * Small helpers for the benchmark: alternating rounds, statistics, a progress
 * line on stderr and a plain-text table.
 */

export const now = () => performance.now();

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Rounds {
  baseline: number[];
  candidate: number[];
  /** One ratio per round, from the two runs that ran next to each other. */
  ratios: number[];
}

/**
 * Runs baseline and candidate `rounds` times each, alternating which goes
 * first (B C, C B, B C, ...) so that drift on a shared machine hits both.
 * `ratio(baseline, candidate)` is computed per round: higher is better.
 */
export async function alternate(
  rounds: number,
  baseline: (round: number) => Promise<number>,
  candidate: (round: number) => Promise<number>,
  ratio: (baseline: number, candidate: number) => number,
): Promise<Rounds> {
  const result: Rounds = { baseline: [], candidate: [], ratios: [] };
  for (let round = 0; round < rounds; round++) {
    let b: number;
    let c: number;
    if (round % 2 === 0) {
      b = await baseline(round);
      c = await candidate(round);
    } else {
      c = await candidate(round);
      b = await baseline(round);
    }
    result.baseline.push(b);
    result.candidate.push(c);
    result.ratios.push(ratio(b, c));
  }
  return result;
}

/** A progress line on stderr: rewritten in place on a terminal, a line every few seconds otherwise. */
export function progress(label: string) {
  const tty = process.stderr.isTTY;
  const started = now();
  let lastPrint = 0;
  const elapsed = () => `${((now() - started) / 1000).toFixed(1)} s`;
  const print = (text: string, final = false) => {
    const t = now();
    if (!final && t - lastPrint < (tty ? 100 : 5_000)) return;
    lastPrint = t;
    if (tty) process.stderr.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
  return {
    update(done: number, total?: number) {
      const amount =
        total === undefined
          ? `${done.toLocaleString('en-US')}`
          : `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${Math.floor((100 * done) / total)}%)`;
      print(`${label}: ${amount}, ${elapsed()}`);
    },
    /** Re-prints the last state every second, for steps whose progress is polled. */
    poll(read: () => number, total?: number) {
      const timer = setInterval(() => this.update(read(), total), 1_000);
      timer.unref();
      return () => clearInterval(timer);
    },
    done(detail = '') {
      print(`${label}: done${detail ? `, ${detail}` : ''}, ${elapsed()}`, true);
    },
  };
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 10_000) return `${formatNumber(ms / 1000, 1)} s`;
  if (ms >= 100) return `${formatNumber(ms, 0)} ms`;
  return `${formatNumber(ms, 1)} ms`;
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '—';
  return `${ratio >= 10 ? formatNumber(ratio, 1) : formatNumber(ratio, 2)}×`;
}

/** A plain-text table with a header row and a rule under it. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
