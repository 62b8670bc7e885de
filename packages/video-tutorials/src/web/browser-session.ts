import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * For HTTP tests: a client that keeps cookies like a browser and fills in
 * the CSRF token of the last page it loaded, through Fastify's inject.
 */
export function browserSession(app: FastifyInstance, { remoteAddress = '127.0.0.1' } = {}) {
  const cookies = new Map<string, string>();
  let csrfToken = '';

  const remember = (response: LightMyRequestResponse) => {
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.maxAge !== undefined && cookie.maxAge <= 0)) cookies.delete(cookie.name);
      else cookies.set(cookie.name, cookie.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) csrfToken = token;
    return response;
  };
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');

  return {
    cookies,
    get csrfToken() {
      return csrfToken;
    },
    async get(url: string) {
      return remember(await app.inject({ method: 'GET', url, remoteAddress, headers: { cookie: cookieHeader() } }));
    },
    /** Posts a form; the CSRF token of the last page is added unless `_csrf` is given. */
    async post(url: string, form: Record<string, string> = {}) {
      const body = new URLSearchParams({ _csrf: csrfToken, ...form }).toString();
      return remember(
        await app.inject({
          method: 'POST',
          url,
          remoteAddress,
          payload: body,
          headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        }),
      );
    },
  };
}
