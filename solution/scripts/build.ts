/**
 * `npm run build -w @stc/solution`: packs solution/dist/StripeConnector_<version>.zip and
 * StripeConnector_<version>_managed.zip, and says which parts were not built and so left out.
 */
import { resolve } from 'node:path';
import { packSolution, PackError } from '../src/pack';

packSolution({ repoRoot: resolve(__dirname, '../..') })
  .then((result) => {
    process.stdout.write(`solution ${result.version}\n  ${result.unmanagedZip}\n  ${result.managedZip}\n`);
    process.stdout.write(
      `  web resources: ${result.webResources.length}, controls: ${result.controls.map((c) => c.name).join(', ') || 'none'}\n`,
    );
    for (const part of result.leftOut) process.stdout.write(`  left out: ${part}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `solution build failed: ${error instanceof PackError ? error.message : String(error)}\n`,
    );
    if (!(error instanceof PackError) && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  });
