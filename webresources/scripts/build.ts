/**
 * Bundles each form module into `dist/stc_/js/<form>.js`, an IIFE that publishes its functions as
 * `StripeConnector.Forms.<Form>` (the names a form's event handlers and the command bar call), and each page
 * into `dist/stc_/js/<page>.js` (`StripeConnector.Pages.<Page>`) beside its HTML in `dist/stc_/pages/`.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const FORMS: Record<string, string> = {
  account: 'Account',
  contact: 'Contact',
  quote: 'Quote',
  salesorder: 'SalesOrder',
  invoice: 'Invoice',
  syncissue: 'SyncIssue',
  refundrequest: 'RefundRequest',
  subscription: 'Subscription',
  chargerequest: 'ChargeRequest',
};

/** Web resource pages: `pages/<page>.html` and the script it loads. */
export const PAGES: Record<string, string> = {
  connection: 'Connection',
};

const root = join(__dirname, '..');

async function bundle(entry: string, file: string, globalName: string): Promise<void> {
  const outfile = join(root, 'dist', 'stc_', 'js', `${file}.js`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    globalName,
    platform: 'browser',
    target: ['es2020'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  console.log(`${outfile}: ${statSync(outfile).size} bytes`);
}

async function main(): Promise<void> {
  for (const [file, name] of Object.entries(FORMS)) {
    await bundle(join(root, 'src', 'forms', `${file}.ts`), file, `StripeConnector.Forms.${name}`);
  }
  mkdirSync(join(root, 'dist', 'stc_', 'pages'), { recursive: true });
  for (const [file, name] of Object.entries(PAGES)) {
    await bundle(join(root, 'src', 'pages', `${file}.ts`), file, `StripeConnector.Pages.${name}`);
    copyFileSync(join(root, 'pages', `${file}.html`), join(root, 'dist', 'stc_', 'pages', `${file}.html`));
  }
}

// Imported by the tests for FORMS: build only when run as the build script.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
