export * from './model/types';
export * from './model';
