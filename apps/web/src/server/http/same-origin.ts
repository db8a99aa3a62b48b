// Cross-site request refusal for state-changing API calls. Browsers send Sec-Fetch-Site and
// Origin on every POST; a request from another site is refused whatever its cookies. Non-browser
// clients send neither and are judged by their credentials alone.
import type { IncomingHttpHeaders } from 'node:http';

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `allowedOrigins`: the configured public URL's origin; the request's own host is always allowed. */
export function checkSameOrigin(
  headers: IncomingHttpHeaders,
  allowedOrigins: ReadonlySet<string>,
  secure: boolean,
): OriginVerdict {
  const fetchSite = single(headers['sec-fetch-site']);
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return { ok: false, reason: `cross-site request refused (Sec-Fetch-Site: ${fetchSite})` };
  }
  const origin = single(headers.origin);
  if (origin !== undefined) {
    const host = single(headers.host);
    const own = host ? `${secure ? 'https' : 'http'}://${host}` : undefined;
    if (origin !== own && !allowedOrigins.has(origin)) {
      return { ok: false, reason: `cross-site request refused (Origin: ${origin})` };
    }
  }
  return { ok: true };
}

/** tRPC mutations are JSON; a form or text/plain body is a cross-site attempt or a broken client. */
export function isJsonBody(headers: IncomingHttpHeaders): boolean {
  const type = single(headers['content-type']) ?? '';
  return /^application\/json(\s*;|$)/i.test(type);
}
