/** Public surface of the Stripe API emulator. */
export { startStripeEmulator } from './server';
export type {
  AccountSelector,
  SeedPaymentsOptions,
  StripeEmulator,
  StripeEmulatorOptions,
  TestHelpers,
  TriggerResult,
} from './server';
export { TRIGGERS } from './triggers';
export { DEFAULT_API_VERSION, StripeEngine } from './engine';
export type { FeeSchedule, StripeEvent } from './engine';
export type { StripeFaultSpec, StripeRequestRecord } from './faults';
export type { DeliveryAttempt, WebhookOptions, WebhookRetryOptions } from './webhooks';
export { signatureHeader, thinNotification } from './webhooks';
export { TEST_CARDS } from './cards';
export type { StripeObject } from './store';
