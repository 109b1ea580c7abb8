/** The operator console's API under `/console/api`: its guard and its routes (see `contract.ts`). */
import type Router from '@koa/router';
import type { IntakeContext } from '../intake/context';
import type { OpenAlert } from '../alerts';
import type { ServiceConfig } from '../config';
import type { DataverseClient } from '../dataverse/types';
import type { EntraSignInDeps } from './entra';
import { registerDeadLetterRoutes } from './dead-letters';
import { registerEvents } from './events';
import { registerOverview } from './overview';
import { registerPayouts } from './payouts';
import { registerSettings } from './settings';
import { registerSession, type EntraSessions } from './session';

export type * from './contract';
export { consoleGuard, CSRF_VALUE, SESSION_COOKIE } from './session';
export { createEntraSignIn } from './entra';

/** What the console's routes read beyond the intake's store, log and metrics. */
export interface ConsoleDeps {
  adminApiKey: string;
  /** The Dataverse environment's URL (`https://org.crm.dynamics.com`): links to rows in Dynamics 365. */
  dataverseUrl?: string;
  /** The alerts firing now (the service's alert rounds); none without. */
  openAlerts?: () => OpenAlert[];
  /** The configuration the service runs with, shown with its secrets masked. */
  config?: ServiceConfig;
  /** Reads the payouts and journals the reconciliation wrote; the payout routes answer 503 without it. */
  dataverse?: DataverseClient;
  /** Sign-in with Microsoft Entra ID (`/console/signin/entra`); the admin key only without. */
  entraSignIn?: EntraSignInDeps;
}

/** The console's routes; `entra` is the Entra ID sign-in `createEntraSignIn` made of `deps.entraSignIn`. */
export function registerConsoleApi(
  router: Router,
  intake: IntakeContext,
  deps: ConsoleDeps,
  entra?: { register(router: Router): void; sessions: EntraSessions },
): void {
  const addresses = [deps.config?.reporting.publicUrl, deps.config?.consoleEntra?.redirectUri];
  registerSession(router, {
    adminApiKey: deps.adminApiKey,
    now: intake.now,
    entraSessions: entra?.sessions,
    httpsAddress: addresses.some((address) => address?.startsWith('https://')),
  });
  entra?.register(router);
  registerEvents(router, { store: intake.store, dataverseUrl: deps.dataverseUrl });
  registerDeadLetterRoutes(router, { store: intake.store, onQueued: intake.onQueued, log: intake.logger });
  registerSettings(router, { config: deps.config });
  registerPayouts(router, { dataverse: deps.dataverse, dataverseUrl: deps.dataverseUrl });
  registerOverview(router, {
    store: intake.store,
    metrics: intake.metrics,
    now: intake.now,
    openAlerts: deps.openAlerts,
  });
}
