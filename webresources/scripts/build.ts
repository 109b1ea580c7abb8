/**
 * Bundles each form module into `dist/stc_/js/<form>.js`, an IIFE that publishes its functions as
 * `StripeConnector.Forms.<Form>` (the names a form's event handlers and the command bar call).
 */
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export const FORMS: Record<string, string> = {
  account: 'Account',
  contact: 'Contact',
  salesorder: 'SalesOrder',
  invoice: 'Invoice',
  syncissue: 'SyncIssue',
};

async function main(): Promise<void> {
  const root = join(__dirname, '..');
  for (const [file, name] of Object.entries(FORMS)) {
    const outfile = join(root, 'dist', 'stc_', 'js', `${file}.js`);
    await build({
      entryPoints: [join(root, 'src', 'forms', `${file}.ts`)],
      outfile,
      bundle: true,
      minify: true,
      format: 'iife',
      globalName: `StripeConnector.Forms.${name}`,
      platform: 'browser',
      target: ['es2020'],
      legalComments: 'none',
      logLevel: 'warning',
    });
    console.log(`${outfile}: ${statSync(outfile).size} bytes`);
  }
}

// Imported by the tests for FORMS: build only when run as the build script.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
