/** Mapping versions at run time: the live set the workers map with, and the operations on versions. */
export {
  startLiveMappings,
  createLiveMappings,
  compileStoredVersion,
  MappingVersionNotFound,
  type LiveMappings,
  type ShippedMappings,
  type ActiveMappings,
} from './live';
export {
  createMappingVersionOps,
  rowsOf,
  MappingVersionRequestError,
  type MappingVersionOps,
  type MappingFileDiff,
  type MappedRowsOfMapping,
  type VersionRows,
  type DryRunResult,
} from './operations';
