/**
 * The Dataverse emulator as the service's tests use it: one per test file, with the connector's model, back
 * to its starting state before each test (no rows, no injected faults, service protection limits off) and a
 * fresh Web API client on it (short retry delays, so retried requests do not slow the tests).
 */
import { model } from '@stc/solution';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import { createDataverseClient, type DataverseWebApiClient } from '../../dataverse';

export interface DataverseFixture {
  emulator: DataverseEmulator;
  /** Made afresh before each test. */
  client: DataverseWebApiClient;
}

/** Starts the emulator before the file's first test and closes it after its last; `use` gets both before each test. */
export function dataverseEmulatorForFile(use?: (fixture: DataverseFixture) => void): DataverseFixture {
  const fixture = {} as DataverseFixture;
  beforeAll(async () => {
    fixture.emulator = await startDataverseEmulator({ model });
  });
  afterAll(() => fixture.emulator?.close());
  beforeEach(() => {
    fixture.emulator.store.clear();
    fixture.emulator.clearFaults();
    fixture.emulator.setLimits({ enabled: false });
    fixture.client = createDataverseClient({
      baseUrl: fixture.emulator.url,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    use?.(fixture);
  });
  return fixture;
}
