/**
 * `@stc/solution/tables`: the table model's names and option values as constants (generated on install into
 * `src/generated/tables.ts`). Free of imports beyond that file, so browser bundles can take it alone.
 */
export * from './src/generated/tables';
