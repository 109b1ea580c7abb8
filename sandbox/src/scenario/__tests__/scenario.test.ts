/**
 * The scenario's checks read their outcome back and fail when it is not there: against the two emulators
 * with no service between them, nothing reaches Dataverse, and every check says so by name.
 */
import { model } from '@stc/solution';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
} from '@stc/emulators';
import { SANDBOX_USERS } from '../../parts/run';
import { createWebApi, playScenario } from '..';

let dataverse: DataverseEmulator;
let stripe: StripeEmulator;

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ model, systemUsers: Object.values(SANDBOX_USERS) });
  stripe = await startStripeEmulator({ rateLimit: false });
});
afterAll(async () => {
  await stripe?.close();
  await dataverse?.close();
});

test('without the service every check fails, names what was missing, and the summary counts them', async () => {
  const lines: string[] = [];
  const result = await playScenario(
    {
      stripe: stripe.client(),
      dataverse: createWebApi(dataverse.url),
      users: SANDBOX_USERS,
      timeoutMs: 300,
    },
    (line) => lines.push(line),
  );
  expect(result.passed).toBe(0);
  expect(result.total).toBeGreaterThanOrEqual(14);
  expect(result.failed).toHaveLength(result.total);
  expect(lines.filter((l) => l.startsWith('scenario: ✗ FAILED'))).toHaveLength(result.total);
  expect(lines).toContainEqual(
    expect.stringMatching(
      /^scenario: ✗ FAILED customer → account: accounts row for cus_\w+: not within 0\.3 s \(last seen: no row\)$/,
    ),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(/^scenario: ✗ FAILED partial refund: skipped: the USD payment did not happen$/),
  );
  expect(lines.at(-1)).toMatch(
    new RegExp(
      `^scenario: 0 of ${result.total} checks passed; FAILED: customer → account; .*\\(the sandbox keeps running: look around\\)$`,
    ),
  );
}, 30_000);
