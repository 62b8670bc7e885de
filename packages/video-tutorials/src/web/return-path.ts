const SITE = 'http://site.invalid';

/**
 * Where to go back to after logging in: only a path on this site, normalized the way a browser
 * would read it, else `fallback`. Browsers drop tabs and newlines from URLs and read `\` as `/`,
 * so `/\t/evil.example` or `/\evil.example` would leave the site: anything but printable ASCII
 * (our own links are percent-encoded), any backslash, and anything that resolves to another origin
 * or to a `//` path is refused.
 */
export function safeReturnPath(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length > 2048) return fallback;
  if (!/^\/[\x21-\x7e]*$/.test(value) || value.includes('\\') || value.startsWith('//')) return fallback;
  let url: URL;
  try {
    url = new URL(value, SITE);
  } catch {
    return fallback;
  }
  if (url.origin !== SITE) return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith('/') && !path.startsWith('//') ? path : fallback;
}
