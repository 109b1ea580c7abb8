/**
 * The packer's public surface, for Node only (it reads files and hashes names): import it as
 * `@stc/solution/src/pack`. `@stc/solution` itself stays free of Node built-ins for browser bundles.
 */
export { packSolution, collectSolutionFiles, zipFiles, manifestResourcePaths, PackError } from './packer';
export type { PackOptions, PackResult, PackedControl, SolutionFiles } from './packer';
export { customizationsXml } from './customizations';
export { solutionXml, solutionVersion, ComponentType } from './solutionXml';
export { validateCustomizationsXml, defaultSchemaPath, NEWER_ELEMENTS } from './validate';
export type { SchemaValidation } from './validate';
export { stableGuid } from './guid';
