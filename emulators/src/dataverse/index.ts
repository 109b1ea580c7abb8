export { startDataverseEmulator, API_ROOT } from './server';
export type { DataverseEmulator, DataverseEmulatorOptions, EmulatorStoreAccess } from './server';
export type { AuthOptions, SystemUser } from './auth';
export { SANDBOX_ADMIN } from './auth';
export type { LimitSettings } from './limits';
export { DATAVERSE_LIMITS } from './limits';
export type { FaultSpec } from './faults';
export type {
  WebhookAuth,
  WebhookDelivery,
  WebhookImage,
  WebhookRegistration,
  RegisteredWebhook,
} from './webhooks';
export { DataverseHttpError } from './errors';
export { SDK_MESSAGE_IDS, messageFilterId } from './registrations';
export { registerSolutionSteps, type SolutionStepsTarget } from './solution-steps';
