/**
 * Test support: an HTTP proxy between the service and an emulator that forwards every request as it is, and
 * can hold the answer of the next matching request once the emulator has acted on it (a Dataverse `$batch`
 * committed, a Stripe refund made), so a test can kill the service at that moment: the answer is then
 * dropped, as it is lost when a process dies while waiting for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeldAnswer {
  method: string;
  path: string;
  /** The emulator's answer to it, which the client has not seen. */
  status: number;
  /** Closes the client's connection without an answer. */
  drop(): void;
}

/** Which answer to hold: the request's method and path, and the status the emulator answered. */
type Matcher = (method: string, path: string, status: number) => boolean;

export interface InterceptingProxy {
  /** `http://127.0.0.1:<port>`, to be given the client instead of the emulator's origin. */
  origin: string;
  /** Requests forwarded so far. */
  readonly forwarded: number;
  /** The emulator's answers so far, by HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  /**
   * Holds the answer of the next request that matches, once the emulator has answered it. Resolves with it;
   * `cancel()` forgets the wish when nothing matched.
   */
  holdNext(match: Matcher): { held: Promise<HeldAnswer>; cancel(): void };
  close(): Promise<void>;
}

export async function startInterceptingProxy(target: string): Promise<InterceptingProxy> {
  const targetUrl = new URL(target);
  let wish: { match: Matcher; resolve: (held: HeldAnswer) => void } | null = null;
  let forwarded = 0;
  const statuses = new Map<number, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      forwarded += 1;
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const headers = { ...req.headers, host: targetUrl.host };
      const upstream = http.request(
        { host: targetUrl.hostname, port: targetUrl.port, method, path, headers },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            const status = answer.statusCode ?? 502;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (wish && wish.match(method, path, status)) {
              const { resolve } = wish;
              wish = null;
              resolve({ method, path, status, drop: () => req.socket.destroy() });
              return;
            }
            if (res.destroyed) return;
            res.writeHead(status, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get forwarded() {
      return forwarded;
    },
    statuses,
    holdNext(match) {
      let cancel = () => {};
      const held = new Promise<HeldAnswer>((resolve) => {
        const mine = { match, resolve };
        wish = mine;
        cancel = () => {
          if (wish === mine) wish = null;
        };
      });
      return { held, cancel };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
