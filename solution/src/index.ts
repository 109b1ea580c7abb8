export * from './model/types';
export * from './model';
export * from './generated/rows';
export * from './components';
export * from './currencies';
