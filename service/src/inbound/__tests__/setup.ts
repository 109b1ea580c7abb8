/**
 * The set-up the handler tests share: one Stripe stub or Dataverse emulator per test file, emptied before each
 * test, so that each file says only what it builds on top (the harness and its options).
 */
import { model } from '@stc/solution';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import { createDataverseClient, type DataverseWebApiClient } from '../../dataverse';
import { StripeStub } from './stripe-stub';

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

export interface EmulatorFixture {
  emulator: DataverseEmulator;
  /** The real Web API client on the emulator, made afresh before each test (short retry delays). */
  client: DataverseWebApiClient;
}

/** The Dataverse emulator with the connector's model for the file, emptied before each test. */
export function dataverseEmulatorForFile(): EmulatorFixture {
  const fixture = {} as EmulatorFixture;
  beforeAll(async () => {
    fixture.emulator = await startDataverseEmulator({ model });
  });
  afterAll(() => fixture.emulator?.close());
  beforeEach(() => {
    fixture.emulator.store.clear();
    fixture.client = createDataverseClient({
      baseUrl: fixture.emulator.url,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
  });
  return fixture;
}
