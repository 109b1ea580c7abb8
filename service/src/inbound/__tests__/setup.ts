/**
 * The set-up the handler tests share: one Stripe stub, Stripe emulator or Dataverse emulator per test file
 * (stub and Dataverse emptied before each test), and the harnesses over them, so that each file says only
 * what it builds on top.
 */
import { model } from '@stc/solution';
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import type { DataverseWebApiClient } from '../../dataverse';
import { SyncHarness } from './harness';
import { MemoryDataverse } from './memory-dataverse';
import { StripeStub } from './stripe-stub';

export { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';

/** The Dataverse value of a Stripe value in one of the model's option sets (e.g. `stc_paymentstatus`, `succeeded`). */
export const option = (set: string, stripeValue: string): number =>
  model.optionSets.find((s) => s.name === set)!.options.find((o) => o.externalValue === stripeValue)!.value;

/** A Stripe stub started before the file's first test, stopped after its last, with no objects or requests before each. */
export function stripeStubForFile(): StripeStub {
  const stripe = new StripeStub();
  beforeAll(() => stripe.start());
  afterAll(() => stripe.stop());
  beforeEach(() => {
    stripe.objects.clear();
    stripe.requests.length = 0;
  });
  return stripe;
}

/**
 * Handlers over an in-memory Dataverse, made afresh before each test, reading Stripe from the file's stub;
 * `use` receives them.
 */
export function memoryHandlersForEachTest(
  stripe: StripeStub,
  use: (fresh: { dataverse: MemoryDataverse; sync: SyncHarness }) => void,
): void {
  beforeEach(() => {
    const dataverse = new MemoryDataverse();
    use({ dataverse, sync: new SyncHarness(stripe, dataverse) });
  });
}

/** The Stripe emulator for the file (no rate limit); the SDK the handlers get talks to it. */
export function stripeEmulatorForFile(): { emulator: StripeEmulator } {
  const fixture = {} as { emulator: StripeEmulator };
  beforeAll(async () => {
    fixture.emulator = await startStripeEmulator({ rateLimit: false });
  });
  afterAll(() => fixture.emulator?.close());
  return fixture;
}

/** A harness whose handlers read Stripe from the emulator and write through `dataverse`. */
export function handlersOverStripeEmulator(
  emulator: StripeEmulator,
  dataverse: DataverseWebApiClient,
): SyncHarness {
  const stripe = emulator.client();
  return new SyncHarness(Object.assign(new StripeStub(), { stripeFor: () => stripe }), dataverse);
}
