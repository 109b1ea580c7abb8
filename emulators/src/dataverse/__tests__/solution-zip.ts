/** The repository's solution packed in memory, as the build packs it, for the import tests. */
import path from 'node:path';
import { model as solutionModel, type TableModel } from '@stc/solution';
import { collectSolutionFiles, zipFiles } from '@stc/solution/src/pack';

const repoRoot = path.resolve(__dirname, '../../../..');

/** The solution zip of `model` (default the repository's) at a package version, managed unless said. */
export async function solutionZip(
  packageVersion: string,
  options: { managed?: boolean; model?: TableModel } = {},
): Promise<Buffer> {
  const files = collectSolutionFiles({ repoRoot, packageVersion, model: options.model ?? solutionModel });
  return zipFiles(files.files(options.managed ?? true));
}

/** The ImportSolution / StageAndUpgrade body for a zip. */
export const importBody = (zip: Buffer, importJobId?: string) => ({
  CustomizationFile: zip.toString('base64'),
  OverwriteUnmanagedCustomizations: true,
  PublishWorkflows: false,
  ...(importJobId ? { ImportJobId: importJobId } : {}),
});
