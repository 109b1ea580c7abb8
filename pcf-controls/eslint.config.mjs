// The controls' ESLint config: pcf-scripts lints each control with the flat config it finds from this folder.
// It is the repository's config, with its browser-code rule applied to the controls' runtime files (the root
// config's paths start at the repository root, this config's at this folder), plus the Power Apps checker
// rules that apply to code running in a form.
import powerApps from '@microsoft/eslint-plugin-power-apps';
import root, { noNodeInBrowser } from '../eslint.config.mjs';

export default [
  ...root,
  {
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['**/__tests__/**', '**/__mocks__/**', 'scripts/**'],
    plugins: { '@microsoft/power-apps': powerApps },
    rules: {
      ...noNodeInBrowser,
      '@microsoft/power-apps/avoid-2011-api': 'error',
      '@microsoft/power-apps/avoid-browser-specific-api': 'error',
      '@microsoft/power-apps/avoid-dom-form': 'error',
      '@microsoft/power-apps/avoid-window-top': 'error',
      '@microsoft/power-apps/do-not-make-parent-assumption': 'error',
      '@microsoft/power-apps/use-relative-uri': 'error',
      'no-restricted-globals': [
        'error',
        { name: 'localStorage', message: 'Controls keep no state in the browser.' },
        { name: 'sessionStorage', message: 'Controls keep no state in the browser.' },
      ],
    },
  },
];
