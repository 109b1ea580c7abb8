/**
 * `npm run build -w @stc/console`: the console's pages as the service serves them at `/console`.
 *
 *   dist/index.html             the one page, loading the bundle by its hashed name
 *   dist/console-<hash>.js      React, Fluent UI, Chart.js and the pages, minified (cached for a year)
 *   dist/console-<hash>.js.gz   the same, gzipped once here so that the service sends it compressed
 *
 * The service's `console/static.ts` calls `buildConsole` itself when it starts from a checkout without
 * `dist/` (tsx, the sandbox), so the options live here only.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = resolve(__dirname, '..');

export interface ConsoleBuild {
  outdir: string;
  /** The bundle's file name in `outdir` (hashed), its size in bytes and gzipped. */
  bundle: string;
  bytes: number;
  gzipBytes: number;
}

/** Where `index.html` loads the bundle from: the path the service serves the console under. */
export const CONSOLE_BASE = '/console/';

export function indexHtml(bundle: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Stripe connector console</title>
    <script defer src="${CONSOLE_BASE}${bundle}"></script>
  </head>
  <body>
    <div id="root"></div>
    <noscript>The connector console needs JavaScript.</noscript>
  </body>
</html>
`;
}

export async function buildConsole(outdir = join(root, 'dist')): Promise<ConsoleBuild> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { console: join(root, 'src', 'main.tsx') },
    entryNames: '[name]-[hash]',
    outdir,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const [file, output] = Object.entries(result.metafile.outputs).find(([f]) => f.endsWith('.js'))!;
  const bundle = basename(file);
  const gzipped = gzipSync(readFileSync(join(outdir, bundle)), { level: 9 });
  writeFileSync(join(outdir, `${bundle}.gz`), gzipped);
  writeFileSync(join(outdir, 'index.html'), indexHtml(bundle));
  return { outdir, bundle, bytes: output.bytes, gzipBytes: gzipped.length };
}

if (require.main === module) {
  buildConsole().then(
    ({ outdir, bundle, bytes, gzipBytes }) =>
      console.log(`${join(outdir, bundle)}: ${bytes} bytes (${gzipBytes} gzipped)`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
