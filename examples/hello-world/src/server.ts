import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { InvalidMessageError, type MessageStore } from 'message-db-toolkit';
import { LARGEST_NUMBER, writeNumber } from './numbers.js';
import type { RunningTotalService, ServiceState } from './services.js';

/** A number to write is a few characters: anything longer is not one. */
const LARGEST_BODY_BYTES = 1024;

/**
 * The HTTP face of the example: `GET /` a page of both services (it reloads itself every second),
 * `GET /sum` and `GET /product` their state as JSON, `POST /numbers` writes a number to the log
 * (JSON `{"number": 7}`).
 */
export function createHelloWorldServer({
  store,
  services,
}: {
  store: MessageStore;
  services: readonly RunningTotalService[];
}): Server {
  return createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      console.error('hello-world: request failed:', error);
      if (!response.headersSent) send(response, 500, 'application/json', JSON.stringify({ error: 'Internal error' }));
      else response.destroy();
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse) {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const service = services.find((each) => `/${each.total.name}` === path);
    if (request.method === 'GET' && service) return sendJson(response, 200, await service.state());
    if (request.method === 'GET' && path === '/') {
      const states = await Promise.all(services.map((each) => each.state()));
      return send(response, 200, 'text/html; charset=utf-8', page(states));
    }
    if (request.method === 'POST' && path === '/numbers') return writeFromRequest(request, response);
    return sendJson(response, 404, { error: 'Not found' });
  }

  async function writeFromRequest(request: IncomingMessage, response: ServerResponse) {
    const body = await readBody(request);
    if (body === null) return sendJson(response, 413, { error: `A body of at most ${LARGEST_BODY_BYTES} bytes` });
    const number = numberInJson(body);
    try {
      await writeNumber(store, number);
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error;
      return sendJson(response, 400, { error: `A whole number from 1 to ${LARGEST_NUMBER}` });
    }
    return sendJson(response, 201, { written: number });
  }
}

function numberInJson(body: string): number {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && 'number' in parsed && typeof parsed.number === 'number'
      ? parsed.number
      : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The request's body as text, or null when it is longer than LARGEST_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let length = 0;
  // Read to the end even when too long (keeping nothing more), so the client is answered, not cut off.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= LARGEST_BODY_BYTES) chunks.push(chunk);
  }
  return length > LARGEST_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: unknown) {
  send(response, status, 'application/json', JSON.stringify(body));
}

function send(response: ServerResponse, status: number, contentType: string, body: string) {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function page(states: readonly ServiceState[]): string {
  const rows = states
    .map(
      ({ service, value, position, running }) =>
        `<tr><th scope="row">${escapeHtml(service)}</th><td>${escapeHtml(value)}</td>` +
        `<td>${escapeHtml(String(position))}</td><td>${running ? 'running' : 'not started yet'}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="1">
<title>Hello world of event sourcing</title>
</head>
<body>
<h1>One log, two services</h1>
<table>
<thead><tr><th scope="col">service</th><th scope="col">value</th><th scope="col">position</th><th scope="col">state</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p>Write a number of your own: <code>POST /numbers</code> with <code>{"number": 7}</code>.</p>
</body>
</html>
`;
}
