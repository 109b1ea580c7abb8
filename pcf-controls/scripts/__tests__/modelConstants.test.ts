/**
 * The controls' constants must say what the table model says. The committed file is compared with a fresh
 * rendering (whitespace and trailing commas aside, which Prettier decides).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderModelConstants } from '../modelConstants';

const normalize = (source: string) => source.replace(/\s+/g, '').replace(/,([}\])])/g, '$1');

it('shared/model.generated.ts is up to date with the table model', () => {
  const committed = readFileSync(join(__dirname, '..', '..', 'shared', 'model.generated.ts'), 'utf8');
  expect(normalize(committed)).toBe(normalize(renderModelConstants()));
});
