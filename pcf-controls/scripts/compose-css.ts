/**
 * Writes `<Control>/css/generated/panel.css` for each control from `shared/css/panel.css`, with the placeholder
 * root class `.stc-panel` replaced by the control's own root class. A manifest may only name files inside its
 * control's folder, so the shared styles are composed into each folder before `pcf-scripts build` instead of
 * being copied by hand. The output is not committed (generated/ is ignored); `npm run build` writes it.
 *
 *   npx tsx pcf-controls/scripts/compose-css.ts
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const PLACEHOLDER = '.stc-panel';

/** Each control folder and the root class its component renders. */
export const PANEL_ROOTS: Readonly<Record<string, string>> = {
  CustomerPanel: '.stc-customer-panel',
  PaymentPanel: '.stc-payment-panel',
};

/** The shared styles scoped to one root class (`.stc-panel-dialog` becomes `<root>-dialog` as well). */
export function composePanelCss(shared: string, rootClass: string): string {
  return shared.split(PLACEHOLDER).join(rootClass);
}

function main(): void {
  const shared = readFileSync(join(root, 'shared', 'css', 'panel.css'), 'utf8');
  for (const [control, rootClass] of Object.entries(PANEL_ROOTS)) {
    const dir = join(root, control, 'css', 'generated');
    mkdirSync(dir, { recursive: true });
    const target = join(dir, 'panel.css');
    writeFileSync(target, composePanelCss(shared, rootClass));
    console.log(`wrote ${target}`);
  }
}

if (require.main === module) main();
