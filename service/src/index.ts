export * from './dataverse/types';
export * from './sync';
export * from './dataverse';
