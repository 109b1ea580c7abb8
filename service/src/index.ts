export * from './dataverse/types';
export * from './sync';
