/**
 * `npm start`: read the configuration (failing loudly on any problem), migrate, listen, work; stop gracefully
 * on SIGTERM or SIGINT.
 */
import { ConfigError, loadConfig } from './config';
import { MappingError } from './mapping';
import { ReconciliationConfigError } from './reconciliation';
import { startService, stopOnSignals } from './service';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  stopOnSignals(await startService(config));
}

main().catch((error) => {
  if (error instanceof MappingError) {
    process.stderr.write(`The service could not start: the mapping files are invalid: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (error instanceof ReconciliationConfigError) {
    process.stderr.write(`The service could not start: the GL accounts file is invalid: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(
    `The service could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
