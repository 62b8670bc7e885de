/**
 * autocannon's `setupRequest` for `POST /register` (see web.ts): every request
 * is a valid, distinct registration — a new user id, a new e-mail address —
 * carrying the run's CSRF token from `initialContext`.
 *
 * A CommonJS module (`.cts`, `export =`) on purpose: autocannon `require`s it
 * inside its worker thread, where only a file path (not a function) can be
 * handed over, and calls what `require` returns. tsx compiles it there too.
 */
interface RegisterRequest {
  body?: string;
}

export = function setupRegisterRequest<R extends RegisterRequest>(request: R, context: Record<string, unknown>): R {
  const userId = crypto.randomUUID();
  request.body = new URLSearchParams({
    _csrf: String(context.csrfToken),
    userId,
    email: `bench-${crypto.randomUUID()}@example.com`,
    password: 'correct horse battery staple',
  }).toString();
  return request;
};
