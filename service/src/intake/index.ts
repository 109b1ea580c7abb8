export {
  verifyStripeWebhook,
  createStripeWebhookVerifier,
  SIGNATURE_TOLERANCE_SECONDS,
  type VerifiedStripeEvent,
  type StripeWebhookBody,
} from './stripe';
export { parseDataverseWebhook } from './dataverse';
export { WebhookRejection, type RejectionReason } from './rejection';
