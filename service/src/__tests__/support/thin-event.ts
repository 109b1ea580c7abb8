/** Test support: a thin (v2) Stripe event notification, as Stripe posts it, naming a billing meter. */

/** The notification's body for event `id` in account `acct_123`, about meter `mtr_123`. */
export function thinMeterEventPayload(id: string): string {
  return JSON.stringify({
    id,
    object: 'v2.core.event',
    type: 'v1.billing.meter.error_report_triggered',
    livemode: false,
    created: '2026-11-27T10:00:00.000Z',
    context: 'acct_123',
    related_object: { id: 'mtr_123', type: 'billing.meter', url: '/v1/billing/meters/mtr_123' },
  });
}
