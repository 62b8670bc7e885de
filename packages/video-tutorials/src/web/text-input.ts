import { isUtf8 } from 'node:buffer';
import querystring from 'node:querystring';
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
      if (!isUtf8(body)) return done(new InvalidTextError(), undefined);
      done(null, querystring.parse(body.toString('utf8')));
    },
  );
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) return done(new InvalidTextError(), undefined);
    parseJson(request, body.toString('utf8'), done);
  });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (holdsInvalidText(request.params) || holdsInvalidText(request.query) || holdsInvalidText(request.body))
      throw new InvalidTextError();
  });
}
