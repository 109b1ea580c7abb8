/**
 * Events per minute by outcome as a stacked bar chart (Chart.js, only the parts a bar chart needs, so the
 * bundle stays small). The canvas is an image to assistive technology, named by a summary; the totals are
 * also in a table beside it.
 */
import * as React from 'react';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import type { Overview, Outcome } from '@stc/service/src/console/contract';
import { clockTime } from '../format';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export const OUTCOMES: Array<{ outcome: Outcome; label: string; color: string }> = [
  { outcome: 'applied', label: 'Applied', color: '#107c10' },
  { outcome: 'skipped', label: 'Skipped', color: '#8a8886' },
  { outcome: 'superseded', label: 'Superseded', color: '#0078d4' },
  { outcome: 'ignored', label: 'Ignored', color: '#c8c6c4' },
  { outcome: 'retried', label: 'Retried', color: '#ca5010' },
  { outcome: 'dead', label: 'Dead', color: '#a4262c' },
];

function configuration(perMinute: Overview['perMinute']): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: perMinute.map((m) => clockTime(m.minuteMs)),
      datasets: OUTCOMES.map(({ outcome, label, color }) => ({
        label,
        data: perMinute.map((m) => m[outcome]),
        backgroundColor: color,
        stack: 'outcomes',
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, ticks: { maxTicksLimit: 12 } },
        y: {
          stacked: true,
          beginAtZero: true,
          ticks: { precision: 0 },
          title: { display: true, text: 'Events' },
        },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}

export function OutcomeChart({ perMinute, summary }: { perMinute: Overview['perMinute']; summary: string }) {
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const chart = React.useRef<Chart<'bar'> | null>(null);
  React.useEffect(() => {
    if (!canvas.current) return;
    const config = configuration(perMinute);
    if (chart.current) {
      chart.current.data = config.data;
      chart.current.update();
    } else {
      chart.current = new Chart(canvas.current, config);
    }
  }, [perMinute]);
  React.useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  return (
    <div style={{ position: 'relative', height: 280 }}>
      <canvas ref={canvas} role="img" aria-label={summary} data-testid="outcome-chart" />
    </div>
  );
}
