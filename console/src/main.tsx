/** The console's entry: Fluent's settings and icons first, then the app. */
import './fabric-config';
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import { loadTheme, mergeStyles, setIconOptions } from '@fluentui/react';
import { registerConsoleIcons } from './icons';
import { App } from './App';

setIconOptions({ disableWarnings: true });
registerConsoleIcons();
loadTheme({});
mergeStyles({
  ':global(body)': {
    margin: 0,
    fontFamily:
      "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, Roboto, 'Helvetica Neue', sans-serif",
  },
  ':global(.visually-hidden)': {
    position: 'absolute',
    width: 1,
    height: 1,
    overflow: 'hidden',
    clip: 'rect(0 0 0 0)',
    whiteSpace: 'nowrap',
  },
  ':global(:focus-visible)': { outline: '2px solid #0078d4', outlineOffset: 2 },
});

ReactDOM.render(<App />, document.getElementById('root'));
