export * from './dataverse';
export * from './stripe';
