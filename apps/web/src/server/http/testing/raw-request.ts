// An HTTP request from a chosen local address (any 127.x.y.z on Linux's loopback), so a test can
// play several clients that the server tells apart by their socket, whatever headers they send.
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function rawRequest(
  baseUrl: string,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
    localAddress,
  }: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
  } = {},
): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        localAddress,
        agent: false,
        headers: {
          origin: url.origin,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The session cookie (name=value) a sign-in response set, or undefined. */
export function sessionCookieOf(response: RawResponse): string | undefined {
  const cookies = response.headers['set-cookie'] ?? [];
  return cookies
    .find((line) => line.startsWith('better-auth.session_token=') && !/Max-Age=0/i.test(line))
    ?.split(';')[0];
}
