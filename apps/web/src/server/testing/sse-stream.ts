// A real HTTP client of a live-update stream for tests: fetch, read the body as it arrives and
// parse server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  contentType: string | null;
  events: SseEvent[];
  /** the `topics` of every data message so far (tRPC + superjson: {"json":{"topics":[...]}}) */
  batches(): string[][];
  /** the body ended (the server closed it) */
  readonly ended: boolean;
  close(): void;
}

export async function openSseStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let ended = false;
  const body = response.body;
  if (body)
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length || event !== 'message') events.push({ event, data: data.join('\n') });
          }
        }
      } catch {
        // aborted by close()
      } finally {
        ended = true;
      }
    })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    batches: () =>
      events
        .filter((event) => event.event === 'message')
        .map((event) => (JSON.parse(event.data) as { json: { topics: string[] } }).json.topics),
    get ended() {
      return ended;
    },
    close: () => controller.abort(),
  };
}
