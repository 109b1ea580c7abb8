/**
 * `npm run build -w @stc/service`: the service and its operator CLI compiled to JavaScript for `node`.
 *
 *   dist/main.js   the service (`npm start`)
 *   dist/cli.js    the operator CLI (`npm run cli -- <command>`)
 *
 * Each entry is one esbuild bundle: the service's own code and the workspace packages it imports
 * (`@stc/solution`) are inlined, every npm package stays external and is loaded from node_modules as usual
 * (native `better-sqlite3`, `pg`, pino's worker files). So a deployment needs `dist/`, `mappings/` and the
 * package.json files for `npm ci --omit=dev`, and no TypeScript at all.
 *
 * Files read at run time are found through `__dirname` (the shipped mappings, the default GL accounts file),
 * relative to the module that reads them. In a bundle every module would share the bundle's own folder, so
 * each module's `__dirname` is rewritten to the folder it would have in a compiled tree mirroring `src/`
 * (`src/a/b.ts` → `dist/a`), and every data file under `src/` is copied to the same place under `dist/`.
 * A relative path written for the sources therefore holds in `dist/` too, whatever the folders are called.
 *
 * `--outdir <folder>` builds elsewhere (the production test builds into its deployment copy).
 */
import { build, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const serviceRoot = resolve(__dirname, '..');
const srcDir = join(serviceRoot, 'src');
const entries = { main: join(srcDir, 'main.ts'), cli: join(srcDir, 'cli.ts') };
/** Not part of the product: tests and their fixtures. */
const notShipped = (name: string) => name === '__tests__' || name.endsWith('.test.ts');
/** Code and documentation; anything else under src/ is data read at run time and is copied. */
const notData = new Set(['.ts', '.tsx', '.md']);

const toPosix = (path: string) => path.split(sep).join('/');

/** Workspace packages (`@stc/…`) are bundled; every other bare import is an npm package and stays external. */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@stc/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * What a module learns about where it runs, made true in the bundle: its `__dirname` is the folder it would
 * have in a compiled tree mirroring `src/` (see the header), and only an entry may run as the program
 * (`require.main === module` would hold for every module of a bundle, since they share the bundle's `module`).
 */
const moduleLocation: Plugin = {
  name: 'module-location',
  setup(esbuild) {
    const entryFiles = new Set(Object.values(entries));
    esbuild.onLoad({ filter: /\.tsx?$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const shown = toPosix(relative(serviceRoot, args.path));
      if (!entryFiles.has(args.path) && /\brequire\.main\b/.test(source)) {
        return { errors: [{ text: `${shown} runs as its own program; make it a command of src/cli.ts` }] };
      }
      if (!/\b__dirname\b/.test(source)) return undefined;
      const fromSrc = toPosix(relative(srcDir, dirname(args.path)));
      if (fromSrc.startsWith('..')) {
        return {
          errors: [
            {
              text: `${shown} reads __dirname but lies outside service/src, so the deployed service would not have the files it points at; pass the path in from the service instead`,
            },
          ],
        };
      }
      // In the CommonJS bundle, a bare __dirname is the bundle's own folder (Node's module wrapper).
      const moduleDir = `require('node:path').join(__dirname, ${JSON.stringify(fromSrc || '.')})`;
      return { contents: source.replace(/\b__dirname\b/g, moduleDir), loader: 'ts' };
    });
  },
};

/** Every data file under src/ (YAML, JSON, …) to the same relative place under outDir. */
function copyDataFiles(from: string, outDir: string): string[] {
  const copied: string[] = [];
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (notShipped(entry.name)) continue;
    const path = join(from, entry.name);
    if (entry.isDirectory()) copied.push(...copyDataFiles(path, outDir));
    else if (!notData.has(extname(entry.name))) {
      const target = join(outDir, relative(srcDir, path));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
      copied.push(toPosix(relative(srcDir, path)));
    }
  }
  return copied;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const outDir = resolve(values.outdir ?? join(serviceRoot, 'dist'));
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    plugins: [npmPackagesExternal, moduleLocation],
    logLevel: 'warning',
  });
  const data = copyDataFiles(srcDir, outDir);
  const shown = toPosix(relative(process.cwd(), outDir)) || '.';
  console.log(
    `service built: ${shown}/main.js, ${shown}/cli.js${data.length ? ` and ${data.join(', ')}` : ''}`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
