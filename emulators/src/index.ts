export * from './dataverse';
export * from './stripe';
export * from './entra';
