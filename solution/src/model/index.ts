export * from './types';
export {
  model,
  getTable,
  requireTable,
  getColumn,
  requireColumn,
  getOptionSet,
  optionValue,
  findOptionValue,
  optionLabel,
  optionExternalValue,
  navigationFor,
  bindLookup,
  isLookup,
} from './model';
