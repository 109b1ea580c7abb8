import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PANEL_ROOTS, composePanelCss } from '../compose-css';

const shared = readFileSync(join(__dirname, '..', '..', 'shared', 'css', 'panel.css'), 'utf8');

describe('composePanelCss', () => {
  it.each(Object.entries(PANEL_ROOTS))(
    'scopes every shared rule of %s to its root class',
    (_control, rootClass) => {
      const css = composePanelCss(shared, rootClass);
      expect(css).not.toContain('.stc-panel');
      expect(css).toContain(`${rootClass} .stc-table th,`);
      expect(css).toContain(`${rootClass}-dialog .ms-Dialog-main {`);
      // Every selector (the lines that open a rule or list one) starts at the control's root.
      const selectors = css.split('\n').filter((line) => /^[^\s/*].*[{,]$/.test(line));
      expect(selectors.length).toBeGreaterThan(20);
      for (const selector of selectors) expect(selector.startsWith(rootClass)).toBe(true);
    },
  );

  it('names the root class each control renders', () => {
    for (const [control, rootClass] of Object.entries(PANEL_ROOTS)) {
      const source = readFileSync(
        join(__dirname, '..', '..', control, 'components', `${control}.tsx`),
        'utf8',
      );
      expect(source).toContain(rootClass.slice(1));
    }
  });
});
