/** Test support: a local webhook receiver (node:http) that records what alert receivers would get. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fields of the three formats the tests read. */
export interface MessageBody {
  type?: string;
  attachments: {
    contentType: string;
    content: { type: string; body: { text: string; facts: { title: string; value: string }[] }[] };
  }[];
  text: string;
  blocks: { elements: { text: string }[] }[];
  alert: string;
  status: string;
  summary: string;
  reminder: boolean;
}

export interface Received {
  path: string;
  body: MessageBody;
}

/** A webhook receiver; `answer` per path: 200 by default, another status, or 'hang' (never answers). */
export class Receiver {
  readonly received: Received[] = [];
  readonly answer = new Map<string, number | 'hang'>();
  /** Requests that reached the receiver, answered or not. */
  hits = 0;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.hits += 1;
      const answer = this.answer.get(req.url ?? '') ?? 200;
      if (answer === 'hang') return;
      if (answer === 200)
        this.received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(answer).end(answer === 200 ? '1' : 'receiver error');
    });
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
  take(): Received[] {
    return this.received.splice(0);
  }
}
