/**
 * The repository stands alone: no tracked file reads material from beside the repository or names an absolute
 * path of the machine it was written on, so that a clone in any folder passes `npm ci && npm test`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '../..');

/** Named material from beside the repository, or this workplace's absolute paths. */
const OUTSIDE = [/shared\/reference/, /(^|[^\w.])\/work\//];
/** Prose may explain where reference material came from; the lockfile, the copied data and images are not code. */
const SKIPPED = /(\.md|package-lock\.json|\.png|\.zip)$|^test\/fixtures\//;

/** A relative climb (`..`, `../..`), not a spread (`...x`); jest's `<rootDir>/..` is relative to a workspace. */
const RELATIVE = /(?<![\w.])(?<!<rootDir>\/)\.\.(\/\.\.)*(?=\/|['"`]|$)/g;

/** How many folders a relative path climbs (`../../x` climbs 2). */
function climbs(path: string): number {
  return path.split('/').filter((part) => part === '..').length;
}

/**
 * Lines of a file that reach outside the repository: named outside material, or a relative path that climbs
 * above the repository root from the file's folder (a file in `a/b/` may climb at most two folders).
 */
export function outsideReferences(path: string, text: string): string[] {
  const depth = path.split('/').length - 1;
  return text.split('\n').flatMap((line, index) => {
    const escapes = (line.match(RELATIVE) ?? []).some((relative) => climbs(relative) > depth);
    return escapes || OUTSIDE.some((pattern) => pattern.test(line))
      ? [`${path}:${index + 1}: ${line.trim()}`]
      : [];
  });
}

function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return listed.split('\n').filter((file) => file && !SKIPPED.test(file));
}

test('no file reads from beside the repository or names an absolute workplace path', () => {
  const self = 'test/standalone/no-outside-paths.test.ts';
  const found = repositoryFiles()
    .filter((file) => file !== self)
    .flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(join(repoRoot, file), 'utf8');
      } catch {
        return []; // listed by git but deleted in the working tree
      }
      return outsideReferences(file, text);
    });
  expect(found).toEqual([]);
});

test('the check finds every kind of outside path, and leaves look-alikes alone', () => {
  const source = [
    "const a = resolve(repoRoot, '../shared/reference/stripe');",
    "const b = '/work/shared/x.json';",
    "const c = join(__dirname, '../../../other-checkout/data.json');",
    "const d = join(__dirname, '../../test/fixtures/reference');",
    "import { money } from '../../shared/money';",
    'const f = { ...rest };',
    "const e = 'https://example.com/work/items';",
  ].join('\n');
  expect(outsideReferences('a/b/x.ts', source)).toEqual([
    "a/b/x.ts:1: const a = resolve(repoRoot, '../shared/reference/stripe');",
    "a/b/x.ts:2: const b = '/work/shared/x.json';",
    "a/b/x.ts:3: const c = join(__dirname, '../../../other-checkout/data.json');",
  ]);
});
