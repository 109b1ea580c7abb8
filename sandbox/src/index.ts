export * from './dataverse';
