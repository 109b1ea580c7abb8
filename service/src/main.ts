/**
 * `npm start`: read the configuration (failing loudly on any problem), migrate, listen, work; stop gracefully
 * on SIGTERM or SIGINT.
 */
import { ConfigError, loadConfig } from './config';
import { startService } from './service';

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
  const service = await startService(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      service.logger.warn({ signal }, 'second signal: exiting now; claimed events come back when their lease expires');
      service.logger.flush();
      process.exit(1);
    }
    service.logger.info({ signal }, 'shutdown requested');
    service.stop().then(
      () => process.exit(0),
      (error) => {
        service.logger.error({ err: error }, 'shutdown failed');
        service.logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error) => {
  process.stderr.write(`The service could not start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
