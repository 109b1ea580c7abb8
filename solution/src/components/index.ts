export * from './roles';
export * from './environmentVariables';
export * from './webhooks';
