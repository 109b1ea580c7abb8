export * from './model/types';
export * from './model';
export * from './generated/rows';
