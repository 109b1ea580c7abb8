/**
 * Chaos: the service as its own process, killed with SIGKILL three times (during an intake burst, when
 * Dataverse has committed a write the service has no answer for yet, when Stripe has made a requested refund
 * the service has no answer for yet) and restarted on the same store, while Stripe delivers ~300 events with
 * duplicates and shuffled bursts, Dataverse throttles and fails, and Stripe fails and answers late. Every
 * payment, refund and dispute must end in Dataverse once, as Stripe has it; every approved refund request
 * refunded once; the dead letters exactly the live-mode events sent on purpose. See support/chaos.ts.
 */
import { describeOnEachEngine, type TestDatabase } from './support/engines';
import { chaosFailures, formatChaosReport, runChaos, type ChaosReport } from './support/chaos';

// A bound, not an expectation: each wait inside the run has its own deadline (settleMs).
jest.setTimeout(600_000);

describeOnEachEngine('chaos: kills, duplicates, reordering and storms', (engine) => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });

  test('nothing lost, nothing done twice, the dead letters exactly the injected ones', async () => {
    db = await engine.open();
    const report: ChaosReport = await runChaos({
      database: db.env,
      store: db.store,
      events: 300,
      kills: 3,
      refundRequests: 3,
      livePayments: 1,
      settleMs: 240_000,
    });
    process.stdout.write(`chaos on ${engine.name}:\n${formatChaosReport(report)}\n`);
    expect(chaosFailures(report)).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.doubled).toEqual([]);
    expect(report.kills).toEqual(['intake burst', 'Dataverse write', 'outbound refund']);
    expect(report.restarts).toBe(3);
    expect(report.deadLetters).toBe(report.deadLettersInjected);
    expect(report.deadLettersInjected).toBeGreaterThan(0);
    expect(report.outboundRefunds).toBe(3);
    expect(report.events).toBeGreaterThanOrEqual(300);
    expect(report.duplicatesDelivered).toBeGreaterThan(0);
    expect(report.reordered).toBeGreaterThan(0);
    expect(report.faults.periods).toEqual(
      expect.arrayContaining(['Dataverse throttling', 'Dataverse 5xx storm', 'Stripe 5xx and timeouts']),
    );
  });
});
