/** Test support for the workspaces' tests. Never imported by product code (the lint config enforces it). */
export * from './json-child';
export * from './payment-webhooks';
export * from './stripe-events';
export * from './wait';
export * from './skips';
