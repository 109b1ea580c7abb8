/**
 * The solution's webhook steps registered on the emulator, as importing the solution registers them in an
 * environment: each step of `webhookSteps` (its message, filtering columns and post-image) on the service's
 * Dataverse webhook URL, with the key header the admin sets on the service endpoint.
 */
import { webhookSteps } from '@stc/solution';
import type { DataverseEmulator } from './server';
import type { RegisteredWebhook } from './webhooks';

export interface SolutionStepsTarget {
  /** The service's `/webhooks/dataverse` URL. */
  url: string;
  /** The key header, e.g. `{ 'x-stc-webhook-key': '…' }`. */
  headers: Record<string, string>;
  /** Only the steps of this table (all when absent). */
  table?: string;
}

export function registerSolutionSteps(
  dataverse: Pick<DataverseEmulator, 'registerWebhook'>,
  target: SolutionStepsTarget,
): RegisteredWebhook[] {
  return webhookSteps
    .filter((step) => target.table === undefined || step.table === target.table)
    .map((step) =>
      dataverse.registerWebhook({
        name: step.name,
        table: step.table,
        message: step.message,
        filteringAttributes: step.filteringAttributes,
        ...(step.postImage ? { postImage: {} } : {}),
        url: target.url,
        auth: { type: 'HttpHeader', headers: target.headers },
      }),
    );
}
