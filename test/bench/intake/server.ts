/**
 * Benchmark child: the server under test. `ceiling` is a bare node:http server that only reads the body,
 * verifies the signature (the same verification as the service) and answers 200; `sqlite` and `postgres`
 * are the service's real Koa app and store, workers off. Talks to the parent over IPC.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import getRawBody from 'raw-body';
import {
  createApp,
  createLogger,
  createPostgresStore,
  createSqliteStore,
  createStripeWebhookVerifier,
  type Store,
} from '@stc/service';

interface ServerOptions {
  mode: 'ceiling' | 'sqlite' | 'postgres';
  secrets: string[];
  sqlitePath?: string;
  databaseUrl?: string;
  schema?: string;
}

const options: ServerOptions = JSON.parse(process.argv[2]);
const LIMIT = 1_048_576;
const ACK = '{"received":true}';
// Intake only decides "queued or ignored"; nothing runs the events here (workers off).
const takes = (type: string, source: string) => source === 'stripe' && type.startsWith('charge.');

async function main(): Promise<void> {
  let store: Store | undefined;
  let listener: http.RequestListener;
  if (options.mode === 'ceiling') {
    const verify = createStripeWebhookVerifier(options.secrets);
    listener = (req, res) => {
      getRawBody(req, { limit: LIMIT, length: req.headers['content-length'], encoding: 'utf8' }).then(
        (body) => {
          try {
            verify(body, req.headers['stripe-signature'] as string | undefined, Date.now());
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(ACK);
          } catch {
            res.writeHead(400);
            res.end();
          }
        },
        () => {
          res.writeHead(400);
          res.end();
        },
      );
    };
  } else {
    store =
      options.mode === 'sqlite'
        ? createSqliteStore({ path: options.sqlitePath! })
        : createPostgresStore({
            connectionString: options.databaseUrl!,
            schema: options.schema,
            poolMax: 16,
          });
    await store.migrate();
    const app = createApp({
      store,
      logger: createLogger({ level: 'warn' }),
      takes,
      stripeWebhookSecrets: options.secrets,
      dataverseWebhook: { key: 'bench-dataverse-key-0123456789' },
      adminApiKey: 'bench-admin-key-0123456789',
    });
    listener = app.callback();
  }
  let requests = 0;
  const counted: http.RequestListener = (req, res) => {
    requests++;
    listener(req, res);
  };
  const server = http.createServer(counted);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cpuAtStart = process.cpuUsage();
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', async (message: { stop?: boolean }) => {
    if (!message.stop) return;
    server.closeAllConnections();
    server.close();
    await store?.close();
    const cpu = process.cpuUsage(cpuAtStart);
    process.send!({ stopped: true, requests, cpuUs: cpu.user + cpu.system }, () => process.exit(0));
  });
}

void main();
