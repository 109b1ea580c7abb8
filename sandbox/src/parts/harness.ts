/**
 * The UI harness part: the built PCF controls on a page whose Web API reaches the Dataverse emulator, as the
 * refund requester. With `--dataverse-auth entra` a form's calls carry the signed-in user's session; here a
 * small loopback proxy adds the scripts' token (impersonating the page's user), as the harness sends none.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startHarness } from '../harness';
import type { SandboxPart } from '../cli';
import { tokenSource, type ScriptCredentials } from './token';

const CONTROLS_DIR = path.resolve(__dirname, '../../../pcf-controls/out/controls');

/** Forwards to the emulator with a bearer token; the emulator's own absolute URLs are given as the proxy's. */
async function startTokenProxy(
  dataverseUrl: string,
  credentials: ScriptCredentials,
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(dataverseUrl);
  const token = tokenSource(credentials);
  let ownRoot = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
        for (const [name, value] of Object.entries(req.headers)) {
          if (
            typeof value === 'string' &&
            !['host', 'connection', 'content-length', 'authorization'].includes(name)
          )
            headers[name] = value;
        }
        const body = Buffer.concat(chunks);
        const response = await fetch(new URL(req.url ?? '/', upstream.origin), {
          method: req.method,
          headers,
          body: body.length > 0 ? body : undefined,
        });
        const rewrite = (text: string) => text.split(upstream.href).join(ownRoot);
        const out: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name))
            out[name] = rewrite(value);
        });
        const text = rewrite(await response.text());
        res.writeHead(response.status, out);
        res.end(text);
      })().catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`sandbox token proxy: ${(error as Error).message}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ownRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`;
  return {
    url: ownRoot,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const harnessPart: SandboxPart = {
  name: 'harness',
  async start(_options, started, run) {
    const dataverse = started.get('dataverse')?.dataverse;
    if (!dataverse) throw new Error('the harness part needs the Dataverse part first');
    const controls = fs.existsSync(CONTROLS_DIR)
      ? fs
          .readdirSync(CONTROLS_DIR)
          .filter((name) => fs.existsSync(path.join(CONTROLS_DIR, name, 'bundle.js')))
      : [];
    if (controls.length === 0) {
      console.error(
        'harness: not started: the PCF controls are not built (run `npm run build -w @stc/pcf-controls`, then start the sandbox again)',
      );
      return undefined;
    }
    const credentials = started.get('token')?.entra?.credentials;
    const proxy = credentials ? await startTokenProxy(dataverse.url, credentials) : undefined;
    const harness = await startHarness({
      dataverseUrl: proxy?.url ?? dataverse.url,
      controlsDir: CONTROLS_DIR,
      userId: run.users.requester.systemuserid,
    });
    const example = harness.pageUrl({ control: controls[0], entityTypeName: 'account' });
    return {
      name: 'harness',
      url: harness.url,
      note: `controls ${controls.join(', ')}; e.g. ${example}`,
      stop: async () => {
        await harness.close();
        await proxy?.close();
      },
    };
  },
};
