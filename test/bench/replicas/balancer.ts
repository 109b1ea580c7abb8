/**
 * Benchmark child: the round-robin load balancer in front of the replicas, in a process of its own as the
 * platform's ingress is, so that forwarding every webhook does not share the emulators' event loop. Each
 * request goes to the next replica; a refused connection (a replica restarting) goes to the one after, so a
 * rolling restart is invisible to Stripe. The parent sets the replicas' URLs over IPC (`{ targets }`) and is
 * told the balancer's port once it listens; `{ stop: true }` ends it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

let targets: string[] = [];
let next = 0;
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const tryUpstream = (left: number) => {
      if (targets.length === 0) {
        res.writeHead(503);
        res.end();
        return;
      }
      const target = new URL(targets[next++ % targets.length]);
      const forward = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => (left > 1 ? tryUpstream(left - 1) : (res.writeHead(502), res.end())));
      forward.end(body);
    };
    tryUpstream(targets.length * 2);
  });
});

server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('message', (message: { targets?: string[]; stop?: boolean }) => {
  if (message.targets) {
    targets = message.targets;
    process.send!({ targetsSet: targets.length });
  }
  if (message.stop) {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
