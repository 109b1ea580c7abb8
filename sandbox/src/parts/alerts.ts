/**
 * A local alert receiver, so the service's alerts (ALERT_WEBHOOK_URLS) land somewhere a person sees them: an
 * HTTP server in the sandbox's process on 127.0.0.1 taking the generic JSON format at `/webhooks/json` and the
 * Microsoft Teams format at `/webhooks/teams`, as a real receiver would. Each alert of the JSON receiver is
 * printed as one line (`alert: firing dead_letters — …`); the page at `/` lists every message received, both
 * formats, with its body, and `/alerts.json` the same as JSON. Written on node:http rather than a framework:
 * two POST routes and two pages are all it takes, and the sandbox then needs no web framework of its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxPart } from '../cli';

export type ReceivedFormat = 'json' | 'teams';

/** One message the service posted, read back into what it says. */
export interface ReceivedAlert {
  /** 1, 2, … in the order received. */
  seq: number;
  receivedAtMs: number;
  format: ReceivedFormat;
  /** The rule's name (`dead_letters`, `reconciliation_mismatch`, …). */
  alert: string;
  /** `firing` or `resolved`. */
  status: string;
  /** A firing alert sent again because it lasts. */
  reminder: boolean;
  title: string;
  summary: string;
  /** The body as posted. */
  body: unknown;
}

export interface AlertReceiver {
  /** The page listing what was received. */
  url: string;
  /** The receivers to put in the service's ALERT_WEBHOOK_URLS (`json=http://…`, `teams=http://…`). */
  webhookUrls: string[];
  received(): ReceivedAlert[];
  close(): Promise<void>;
}

/** A message larger than this is refused (the service's are a few hundred bytes). */
const BODY_LIMIT = 256 * 1024;
/** The page keeps the newest messages only. */
const KEPT = 500;

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** What a generic JSON message says (formats.ts `jsonMessage`). */
function readJson(
  body: Record<string, unknown>,
): Omit<ReceivedAlert, 'seq' | 'receivedAtMs' | 'format' | 'body'> {
  if (!text(body.alert) || !text(body.status))
    throw new Refused(400, 'a JSON alert carries alert and status');
  return {
    alert: text(body.alert),
    status: text(body.status),
    reminder: body.reminder === true,
    title: text(body.title),
    summary: text(body.summary),
  };
}

interface CardBlock {
  type?: string;
  text?: unknown;
  facts?: Array<{ title?: unknown; value?: unknown }>;
}

/** What a Teams message says: its Adaptive Card's heading, text and facts (formats.ts `teamsMessage`). */
function readTeams(
  body: Record<string, unknown>,
): Omit<ReceivedAlert, 'seq' | 'receivedAtMs' | 'format' | 'body'> {
  const attachments = Array.isArray(body.attachments)
    ? (body.attachments as Array<Record<string, unknown>>)
    : [];
  const card = attachments.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
    ?.content as { body?: CardBlock[] } | undefined;
  const blocks = Array.isArray(card?.body) ? card.body : [];
  const texts = blocks.filter((b) => b.type === 'TextBlock').map((b) => text(b.text));
  const facts = new Map(
    blocks
      .flatMap((b) => (b.type === 'FactSet' ? (b.facts ?? []) : []))
      .map((f) => [text(f.title), text(f.value)]),
  );
  const alert = facts.get('Alert') ?? '';
  const status = facts.get('Status') ?? '';
  if (!alert || !status)
    throw new Refused(400, 'a Teams alert carries an Adaptive Card with the Alert and Status facts');
  const heading = texts[0] ?? '';
  return {
    alert,
    status,
    reminder: heading.startsWith('Still firing'),
    title: heading.replace(/^(Firing|Still firing|Resolved): /, ''),
    summary: texts[1] ?? '',
  };
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new Refused(413, `a message is at most ${BODY_LIMIT} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One line for a person: `firing dead_letters — 1 event(s) in the dead-letter queue …`. */
export function alertLine(a: Pick<ReceivedAlert, 'status' | 'reminder' | 'alert' | 'summary'>): string {
  const status = a.status === 'firing' && a.reminder ? 'still firing' : a.status;
  return `${status} ${a.alert} — ${a.summary}`;
}

function page(alerts: ReceivedAlert[], webhookUrls: string[]): string {
  const rows = [...alerts]
    .reverse()
    .map(
      (a) => `<article class="${escape(a.status)}">
  <h2>#${a.seq} ${escape(a.status === 'firing' && a.reminder ? 'still firing' : a.status)}: ${escape(a.alert)}</h2>
  <p class="meta">${escape(new Date(a.receivedAtMs).toISOString())} · ${escape(a.format)} format · ${escape(a.title)}</p>
  <p>${escape(a.summary)}</p>
  <details><summary>Body as posted</summary><pre>${escape(JSON.stringify(a.body, null, 2))}</pre></details>
</article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Alerts received (${alerts.length})</title>
<style>
body { font-family: "Segoe UI", system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #201f1e; }
article { border-left: 4px solid #a4262c; padding: 0.25rem 1rem; margin: 1rem 0; background: #faf9f8; }
article.resolved { border-left-color: #107c10; }
h2 { font-size: 1.1rem; margin: 0.5rem 0; }
.meta { color: #605e5c; font-size: 0.9rem; }
pre { white-space: pre-wrap; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>Alerts received by the sandbox</h1>
<p>The service posts its alerts here (${webhookUrls.map((u) => `<code>${escape(u)}</code>`).join(', ')}); newest first, this page reloads every 5 s. The same as JSON: <a href="alerts.json">alerts.json</a>.</p>
${rows || '<p>None yet.</p>'}
</body>
</html>
`;
}

export async function startAlertReceiver(
  options: { port?: number; print?: (line: string) => void } = {},
): Promise<AlertReceiver> {
  const received: ReceivedAlert[] = [];
  let seq = 0;
  let webhookUrls: string[] = [];
  const server = http.createServer((request, response) => {
    const answer = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const format = /^\/webhooks\/(json|teams)$/.exec(path)?.[1] as ReceivedFormat | undefined;
    if (request.method === 'POST' && format) {
      readBody(request)
        .then((raw) => {
          let body: unknown;
          try {
            body = JSON.parse(raw);
          } catch {
            throw new Refused(400, 'the body is not JSON');
          }
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            throw new Refused(400, 'the body is not a JSON object');
          const said =
            format === 'json'
              ? readJson(body as Record<string, unknown>)
              : readTeams(body as Record<string, unknown>);
          const alert: ReceivedAlert = { seq: ++seq, receivedAtMs: Date.now(), format, ...said, body };
          received.push(alert);
          if (received.length > KEPT) received.splice(0, received.length - KEPT);
          // One line per alert: the Teams copy of the same alert is on the page only.
          if (format === 'json') options.print?.(`alert: ${alertLine(alert)}`);
          answer(204, 'text/plain', '');
        })
        .catch((error: unknown) => {
          const status = error instanceof Refused ? error.status : 500;
          if (!response.headersSent)
            answer(status, 'text/plain; charset=utf-8', `${(error as Error).message}\n`);
        });
      return;
    }
    if (request.method === 'GET' && path === '/') {
      answer(200, 'text/html; charset=utf-8', page(received, webhookUrls));
      return;
    }
    if (request.method === 'GET' && path === '/alerts.json') {
      answer(200, 'application/json', JSON.stringify({ alerts: received }, null, 2));
      return;
    }
    answer(
      404,
      'text/plain; charset=utf-8',
      'Not found: POST /webhooks/json or /webhooks/teams; GET / or /alerts.json\n',
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  webhookUrls = [`json=${origin}/webhooks/json`, `teams=${origin}/webhooks/teams`];
  return {
    url: `${origin}/`,
    webhookUrls,
    received: () => [...received],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The receiver as a part of the sandbox, started before the service, which posts to it. */
export const alertsPart: SandboxPart = {
  name: 'alerts',
  async start() {
    const receiver = await startAlertReceiver({ print: (line) => console.log(line) });
    return {
      name: 'alerts',
      url: receiver.url,
      note: 'the alerts the service posts here, json and teams formats',
      alerts: receiver,
      stop: () => receiver.close(),
    };
  },
};
