import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * For HTTP tests: a client that keeps cookies like a browser and fills in
 * the CSRF token of the last page it loaded — and the hidden fields of the form posted, when that
 * page has one with that action — through Fastify's inject.
 */
export function browserSession(
  app: FastifyInstance,
  { remoteAddress = '127.0.0.1', userAgent }: { remoteAddress?: string; userAgent?: string } = {},
) {
  const cookies = new Map<string, string>();
  let csrfToken = '';
  let lastPage = '';

  const remember = (response: LightMyRequestResponse) => {
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.maxAge !== undefined && cookie.maxAge <= 0)) cookies.delete(cookie.name);
      else cookies.set(cookie.name, cookie.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) csrfToken = token;
    if (String(response.headers['content-type']).startsWith('text/html')) lastPage = response.body;
    return response;
  };
  const hiddenFieldsOf = (action: string): Record<string, string> => {
    for (const [form] of lastPage.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)) {
      if (unescape(/action="([^"]*)"/.exec(form)?.[1] ?? '') !== action) continue;
      const fields = form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g);
      return Object.fromEntries([...fields].map(([, name, value]) => [unescape(name!), unescape(value!)]));
    }
    return {};
  };
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const agent = userAgent === undefined ? {} : { 'user-agent': userAgent };

  return {
    cookies,
    /** The `Cookie` header this browser sends, for requests made with inject directly. */
    cookieHeader,
    get csrfToken() {
      return csrfToken;
    },
    async get(url: string) {
      return remember(
        await app.inject({ method: 'GET', url, remoteAddress, headers: { cookie: cookieHeader(), ...agent } }),
      );
    },
    /** Uploads a file as a browser's multipart form would, with the CSRF token in the action's query. */
    async upload(url: string, file: { field: string; filename: string; contentType: string; content: Buffer }) {
      const boundary = `----browser-session-${Date.now()}`;
      const payload = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\n` +
            `Content-Type: ${file.contentType}\r\n\r\n`,
        ),
        file.content,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const separator = url.includes('?') ? '&' : '?';
      return remember(
        await app.inject({
          method: 'POST',
          url: `${url}${separator}_csrf=${encodeURIComponent(csrfToken)}`,
          payload,
          remoteAddress,
          headers: { cookie: cookieHeader(), 'content-type': `multipart/form-data; boundary=${boundary}` },
        }),
      );
    },
    /** Posts a form; the CSRF token and the form's hidden fields from the last page are added unless given. */
    async post(url: string, form: Record<string, string> = {}) {
      const body = new URLSearchParams({ _csrf: csrfToken, ...hiddenFieldsOf(url), ...form }).toString();
      return remember(
        await app.inject({
          method: 'POST',
          url,
          remoteAddress,
          payload: body,
          headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...agent },
        }),
      );
    },
  };
}

function unescape(text: string) {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}
