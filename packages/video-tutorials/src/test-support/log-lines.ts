/** For tests: a pino destination that keeps the JSON lines it is given. */
export function logLines() {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}
