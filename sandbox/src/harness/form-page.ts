/**
 * The HTML of a model-driven form on the harness: the record's name as the header, the form's tabs as a
 * tab list, each section's fields with the record's formatted values (read-only ones marked), and each code
 * component in a frame that hosts the control page on the same record. The standard table's form shows a
 * General tab with its name before the tab the solution adds, as the platform's form would have it.
 */
import type { Table } from '@stc/solution';
import type { FormCell, FormTabView, FormView } from './forms';
import { escapeHtml } from './markup';

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

/** What a field shows: the formatted value (choices, lookups, dates, money) or the raw one. */
export function fieldText(record: Record<string, unknown>, field: string): string {
  for (const key of [`${field}${FORMATTED}`, `_${field}_value${FORMATTED}`, field, `_${field}_value`]) {
    const value = record[key];
    if (value !== undefined && value !== null && value !== '') return String(value);
  }
  return '—';
}

type ControlPage = (control: string, parameters: Record<string, unknown>) => string;

function cellHtml(record: Record<string, unknown>, cell: FormCell, controlPage: ControlPage): string {
  if (cell.panel) {
    const parameters = Object.fromEntries(
      Object.entries(cell.panel.parameters).map(([name, column]) => [name, record[column] ?? null]),
    );
    return `<div class="panel"><iframe title="${escapeHtml(cell.label)}" src="${escapeHtml(controlPage(cell.panel.control, parameters))}"></iframe></div>`;
  }
  if (cell.subgrid) {
    // The harness draws no grid: it names what Dynamics 365 lists there.
    const { table, relationship } = cell.subgrid;
    return `<div class="subgrid" data-subgrid="${escapeHtml(table)}"><span class="label">${escapeHtml(cell.label)}</span><span class="value locked">Rows of ${escapeHtml(table)} by ${escapeHtml(relationship)}</span></div>`;
  }
  const id = `field-${cell.field}`;
  return `<div class="field"><span class="label" id="${id}">${escapeHtml(cell.label)}</span><span class="value${cell.disabled ? ' locked' : ''}" aria-labelledby="${id}" data-field="${escapeHtml(cell.field)}">${escapeHtml(fieldText(record, cell.field))}</span></div>`;
}

function tabHtml(
  record: Record<string, unknown>,
  tab: FormTabView,
  index: number,
  controlPage: ControlPage,
): string {
  const sections = tab.sections
    .map(
      (section) =>
        `<section aria-label="${escapeHtml(section.label)}"><h3>${escapeHtml(section.label)}</h3>${section.cells.map((cell) => cellHtml(record, cell, controlPage)).join('')}</section>`,
    )
    .join('');
  return `<div role="tabpanel" id="panel-${index}" aria-labelledby="tab-${index}"${index === 0 ? '' : ' hidden'}>${sections}</div>`;
}

export function formPage(
  form: FormView,
  record: Record<string, unknown>,
  controlPage: ControlPage,
  table: Table | undefined,
): string {
  const name = table ? fieldText(record, table.primaryNameColumn) : form.table;
  const tabs: FormTabView[] = table?.standard
    ? [
        {
          name: 'general',
          label: 'General',
          sections: [
            {
              name: 'general',
              label: table.displayName,
              cells: [{ label: 'Name', field: table.primaryNameColumn, disabled: false }],
            },
          ],
        },
        ...form.tabs,
      ]
    : form.tabs;
  const tabList = tabs
    .map(
      (tab, index) =>
        `<button role="tab" id="tab-${index}" aria-controls="panel-${index}" aria-selected="${index === 0}" tabindex="${index === 0 ? 0 : -1}">${escapeHtml(tab.label)}</button>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(name)} – ${escapeHtml(table?.displayName ?? form.table)}</title>
<style>
body{margin:0;background:#faf9f8;font-family:'Segoe UI',sans-serif;color:#323130}
header{background:#fff;padding:16px 24px;border-bottom:1px solid #edebe9}
header h1{font-size:20px;font-weight:600;margin:0}header p{margin:4px 0 0;color:#605e5c}
[role=tablist]{display:flex;gap:4px;background:#fff;padding:0 20px;border-bottom:1px solid #edebe9}
[role=tab]{font:inherit;border:0;background:none;padding:10px 12px;cursor:pointer;border-bottom:2px solid transparent}
[role=tab][aria-selected=true]{border-bottom-color:#0078d4;font-weight:600}
[role=tabpanel]{padding:16px 24px;display:grid;gap:16px}[role=tabpanel][hidden]{display:none}
section{background:#fff;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.13)}
h3{font-size:14px;margin:0 0 8px}
.field{display:grid;grid-template-columns:200px 1fr;padding:4px 0}.label{color:#605e5c}.locked{color:#323130}
.panel iframe{width:100%;height:640px;border:0}
</style>
</head>
<body>
<header><h1>${escapeHtml(name)}</h1><p>${escapeHtml(table?.displayName ?? form.table)} · ${escapeHtml(form.libraries.join(', ') || 'no form script')}</p></header>
<nav role="tablist" aria-label="Form tabs">${tabList}</nav>
<main>${tabs.map((tab, index) => tabHtml(record, tab, index, controlPage)).join('')}</main>
<script>
const tabs = [...document.querySelectorAll('[role=tab]')];
for (const tab of tabs) tab.addEventListener('click', () => {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', String(selected));
    other.tabIndex = selected ? 0 : -1;
    document.getElementById(other.getAttribute('aria-controls')).hidden = !selected;
  }
});
</script>
</body>
</html>`;
}
