// Lints source text at given repository paths with the repository's ESLint config and prints the import-rule
// messages per case as JSON. A child process, because the flat config is an ES module that jest cannot load.
import { ESLint } from 'eslint';

const cases = JSON.parse(
  await new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
  }),
);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const { filePath, source } of cases) {
  const [result] = await eslint.lintText(source, { filePath });
  out.push(
    result.messages
      .filter(
        (m) =>
          m.ruleId === 'no-restricted-imports' || m.ruleId === '@typescript-eslint/no-restricted-imports',
      )
      .map((m) => m.message),
  );
}
process.stdout.write(JSON.stringify(out));
