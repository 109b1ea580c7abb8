/**
 * The HTML of a dashboard on the harness: a card per chart, three to a row as the dashboard's section lays
 * them, each drawn as SVG (bars, or a pie for a Pie chart) with its figures in a table under it.
 */
import type { ChartSpec, DashboardSpec } from './dashboard';
import { escapeHtml } from './markup';

const COLORS = ['#0078d4', '#8764b8', '#00b294', '#ffaa44', '#e3008c', '#498205', '#c239b3', '#986f0b'];

const number = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 2 });

function bars(figures: Array<[string, number]>): string {
  const max = Math.max(1, ...figures.map(([, value]) => value));
  const rows = figures.map(([label, value], index) => {
    const y = index * 30;
    const width = Math.max(2, Math.round((value / max) * 180));
    return `<text x="0" y="${y + 19}" font-size="12">${escapeHtml(label)}</text><rect x="120" y="${y + 6}" width="${width}" height="18" fill="${COLORS[0]}"/><text x="${126 + width}" y="${y + 19}" font-size="12">${number(value)}</text>`;
  });
  return `<svg viewBox="0 0 340 ${Math.max(30, figures.length * 30)}" role="img" aria-hidden="true">${rows.join('')}</svg>`;
}

function pie(figures: Array<[string, number]>): string {
  const total = figures.reduce((sum, [, value]) => sum + value, 0) || 1;
  let angle = -Math.PI / 2;
  const slices = figures.map(([, value], index) => {
    const sweep = (value / total) * Math.PI * 2;
    const end = angle + sweep;
    const point = (a: number) => `${80 + 70 * Math.cos(a)} ${80 + 70 * Math.sin(a)}`;
    const path =
      sweep >= Math.PI * 2 - 1e-9
        ? `<circle cx="80" cy="80" r="70" fill="${COLORS[index % COLORS.length]}"/>`
        : `<path d="M80 80 L${point(angle)} A70 70 0 ${sweep > Math.PI ? 1 : 0} 1 ${point(end)} Z" fill="${COLORS[index % COLORS.length]}"/>`;
    angle = end;
    return path;
  });
  const legend = figures.map(
    ([label], index) =>
      `<rect x="170" y="${index * 20 + 10}" width="12" height="12" fill="${COLORS[index % COLORS.length]}"/><text x="188" y="${index * 20 + 21}" font-size="12">${escapeHtml(label)}</text>`,
  );
  return `<svg viewBox="0 0 340 160" role="img" aria-hidden="true">${slices.join('')}${legend.join('')}</svg>`;
}

function chartCard(chart: ChartSpec, figures: Array<[string, number]>): string {
  const drawing =
    figures.length === 0 ? '<p>No data</p>' : chart.kind === 'Pie' ? pie(figures) : bars(figures);
  const measure = chart.aggregate === 'count' ? 'Count' : 'Sum';
  const rows = figures
    .map(([label, value]) => `<tr><th scope="row">${escapeHtml(label)}</th><td>${number(value)}</td></tr>`)
    .join('');
  return `<figure aria-label="${escapeHtml(chart.name)}"><figcaption>${escapeHtml(chart.name)}</figcaption>${drawing}<table><thead><tr><th scope="col">Group</th><th scope="col">${measure}</th></tr></thead><tbody>${rows}</tbody></table></figure>`;
}

export function dashboardPage(
  dashboard: DashboardSpec,
  figures: Map<string, Array<[string, number]>>,
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(dashboard.name)} – dashboard</title>
<style>
body{margin:0;background:#faf9f8;font-family:'Segoe UI',sans-serif;color:#323130}
header{background:#fff;padding:16px 24px;border-bottom:1px solid #edebe9}h1{font-size:20px;font-weight:600;margin:0}
main{display:grid;grid-template-columns:repeat(3,1fr);gap:16px;padding:16px 24px}
figure{margin:0;background:#fff;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.13)}
figcaption{font-weight:600;margin-bottom:8px}svg{width:100%;height:auto}
table{border-collapse:collapse;font-size:12px;margin-top:8px;width:100%}th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #edebe9}td{text-align:right}
</style>
</head>
<body>
<header><h1>${escapeHtml(dashboard.name)}</h1></header>
<main>${dashboard.charts.map((chart) => chartCard(chart, figures.get(chart.id) ?? [])).join('')}</main>
</body>
</html>`;
}
