/**
 * Benchmark child: the server under test. `ceiling` is a bare node:http server that only reads the body,
 * verifies the signature (the same verification as the service) and answers 200; `sqlite` and `postgres`
 * are the service's real Koa app and store, workers off; `web` is the service's app on a store that
 * acknowledges every insert without writing it (what the web layer costs, without the durable write). Talks
 * to the parent over IPC.
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
import { procCpuMs } from '../proc-cpu';

interface ServerOptions {
  mode: 'ceiling' | 'web' | 'sqlite' | 'postgres';
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
      options.mode === 'web'
        ? createSqliteStore({ path: ':memory:' })
        : options.mode === 'sqlite'
          ? createSqliteStore({ path: options.sqlitePath! })
          : createPostgresStore({
              connectionString: options.databaseUrl!,
              schema: options.schema,
              poolMax: 16,
            });
    await store.migrate();
    // Every event new and nothing written: the request's path through the service without the store's work.
    if (options.mode === 'web') store.insertEvent = () => Promise.resolve(true);
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
  const server = http.createServer(listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', async (message: { cpu?: boolean; stop?: boolean }) => {
    if (message.cpu) process.send!(cpuNow());
    if (!message.stop) return;
    server.closeAllConnections();
    server.close();
    await store?.close();
    process.send!({ stopped: true }, () => process.exit(0));
  });
}

/**
 * CPU used so far (user + system, µs): the whole process (its worker threads, SQLite's checkpoints among
 * them) and, where Linux tells it, the main thread alone (clock ticks of 10 ms), the one that serves requests.
 */
function cpuNow(): { processUs: number; mainThreadUs?: number } {
  const cpu = process.cpuUsage();
  const mainThreadMs = procCpuMs(`/proc/self/task/${process.pid}/stat`);
  return {
    processUs: cpu.user + cpu.system,
    mainThreadUs: mainThreadMs === undefined ? undefined : mainThreadMs * 1000,
  };
}

void main();
