/**
 * The few icons the Fluent components on these pages draw, as inline SVG: Fluent's icon font is loaded from
 * Microsoft's CDN, which the Content-Security-Policy does not allow and which an offline network cannot reach.
 */
import * as React from 'react';
import { registerIcons } from '@fluentui/react';

function icon(path: string): JSX.Element {
  return (
    <svg viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true" focusable="false">
      <path
        d={path}
        fill="none"
        stroke="currentColor"
        strokeWidth="1.5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

const cross = icon('M3.5 3.5l9 9M12.5 3.5l-9 9');
const circle = 'M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13';

export function registerConsoleIcons(): void {
  registerIcons({
    icons: {
      ChevronDown: icon('M3.5 6l4.5 4.5L12.5 6'),
      ChevronDownMed: icon('M3.5 6l4.5 4.5L12.5 6'),
      ChevronUp: icon('M3.5 10l4.5-4.5L12.5 10'),
      ChevronRight: icon('M6 3.5l4.5 4.5L6 12.5'),
      Cancel: cross,
      Clear: cross,
      Search: icon('M7 2.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9M10.5 10.5l3.5 3.5'),
      CheckMark: icon('M3 8.5l3 3l7-7'),
      Completed: icon(`${circle}M5 8.5l2 2l4-4.5`),
      Info: icon(`${circle}M8 7v4.5M8 4.8v.2`),
      Error: icon(`${circle}M8 4.5v4.5M8 11v.2`),
      ErrorBadge: icon(`${circle}M5.5 5.5l5 5M10.5 5.5l-5 5`),
      Blocked2: icon(`${circle}M3.5 12.5l9-9`),
      Warning: icon('M8 1.8l6.5 12H1.5zM8 6.5v3.5M8 12v.2'),
      RedEye: icon(
        'M1.5 8s2.5-4.5 6.5-4.5s6.5 4.5 6.5 4.5s-2.5 4.5-6.5 4.5S1.5 8 1.5 8M8 6.5a1.5 1.5 0 1 0 0 3a1.5 1.5 0 1 0 0-3',
      ),
      Hide: icon('M1.5 8s2.5-4.5 6.5-4.5s6.5 4.5 6.5 4.5s-2.5 4.5-6.5 4.5S1.5 8 1.5 8M2.5 2.5l11 11'),
    },
  });
}
