/**
 * Test support: a fresh store database and a Dataverse emulator watching stc_payment writes, opened before
 * each test (or once for the suite) and closed after it, with whatever services the test started stopped first.
 */
import { startEmulatorWatchingPayments, type WatchedDataverse } from '@stc/testkit';
import type { DataverseEmulator } from '@stc/emulators';
import type { TestEngine, TestDatabase } from './engines';

export interface DatabaseAndEmulator {
  readonly db: TestDatabase;
  readonly dataverse: WatchedDataverse;
  readonly emulator: DataverseEmulator;
}

/**
 * Registers the hooks in the current `describe`: per `test`, beforeEach and afterEach; per `suite`, beforeAll
 * and afterAll. `stopServices` runs before the emulator and the database close. The fields are set once the
 * opening hook has run.
 */
export function databaseAndEmulator(
  engine: TestEngine,
  per: 'test' | 'suite',
  stopServices: () => Promise<void>,
): DatabaseAndEmulator {
  const world = {} as { db: TestDatabase; dataverse: WatchedDataverse; emulator: DataverseEmulator };
  const [open, close] = per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  open(async () => {
    world.db = await engine.open();
    world.dataverse = await startEmulatorWatchingPayments();
    world.emulator = world.dataverse.emulator;
  });
  close(async () => {
    await stopServices();
    await world.dataverse.close();
    await world.db.destroy();
  });
  return world;
}
