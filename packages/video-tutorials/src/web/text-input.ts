import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Text that PostgreSQL cannot store — a NUL character, a lone UTF-16 surrogate (JSON's `"\ud800"`)
 * or bytes that are not UTF-8 — is refused at the door with a 400, before any handler runs:
 * otherwise it reaches a query and comes back as a 500.
 */
export const INVALID_TEXT_MESSAGE =
  'What you sent contains a character we cannot accept (a NUL character or invalid Unicode). Remove it and try again.';

export class InvalidTextError extends Error {
  readonly statusCode = 400;
  readonly code = 'VT_INVALID_TEXT';
  constructor() {
    super(INVALID_TEXT_MESSAGE);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** Every string in a parsed body, query or route parameters — keys included. */
function holdsInvalidText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  if (value === null || typeof value !== 'object' || depth > 32) return false;
  for (const [key, item] of Object.entries(value))
    if (!isStorableText(key) || holdsInvalidText(item, depth + 1)) return true;
  return false;
}

/**
 * Form and JSON bodies are parsed from their bytes, which must be UTF-8 (a decoder would turn
 * anything else into U+FFFD silently), and every text input is checked before validation.
 */
export function refuseInvalidText(app: FastifyInstance, { formBodyLimit }: { formBodyLimit: number }) {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: formBodyLimit },
    (_request, body: Buffer, done) => {
      const form = isUtf8(body) ? parseForm(body.toString('utf8')) : null;
      if (!form) return done(new InvalidTextError(), undefined);
      done(null, form);
    },
  );
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) return done(new InvalidTextError(), undefined);
    void parseJson(request, body.toString('utf8'), done);
  });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (holdsInvalidText(request.params) || holdsInvalidText(request.query) || holdsInvalidText(request.body))
      throw new InvalidTextError();
  });
}

/**
 * `a=1&b=x+y&b=z` as `{ a: '1', b: ['x y', 'z'] }`; null when a percent-encoded sequence is not UTF-8
 * (`%FF`, or `%ED%A0%80`, a surrogate), which a lenient decoder would turn into U+FFFD silently.
 */
function parseForm(text: string): Record<string, string | string[]> | null {
  const form = Object.create(null) as Record<string, string | string[]>;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    let name: string, value: string;
    try {
      const decode = (part: string) => decodeURIComponent(part.replaceAll('+', ' '));
      name = decode(separator === -1 ? pair : pair.slice(0, separator));
      value = separator === -1 ? '' : decode(pair.slice(separator + 1));
    } catch {
      return null;
    }
    const existing = form[name];
    form[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return form;
}
