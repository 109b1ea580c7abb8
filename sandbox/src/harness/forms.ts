/**
 * Model-driven forms as the harness shows them: read from the FormXml of the packed solution's
 * customizations.xml (a connector table's main form, or the Stripe tab the solution adds to a standard
 * table's form), laid out as tabs, sections and fields with the record's values, and a code component where
 * the form's controlDescriptions bind one to a cell. Only what a form of this solution uses is read.
 */
import { solutionXml } from './markup';

export interface FormPanelCell {
  /** The control's folder in the controls build (`PaymentPanel` for `stc_StripeConnector.PaymentPanel`). */
  control: string;
  /** Manifest property → the column whose value it takes. */
  parameters: Record<string, string>;
}

export interface FormCell {
  label: string;
  /** The column the cell shows; empty for a subgrid. */
  field: string;
  disabled: boolean;
  panel?: FormPanelCell;
  /** A subgrid: the rows of another table that look this row up, by the relationship named. */
  subgrid?: { table: string; relationship: string };
}

export interface FormSectionView {
  name: string;
  label: string;
  cells: FormCell[];
}

export interface FormTabView {
  name: string;
  label: string;
  sections: FormSectionView[];
}

export interface FormView {
  formId: string;
  table: string;
  tabs: FormTabView[];
  /** The form script's library and onload handler, as the form registers them. */
  libraries: string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed FormXml is walked as an untyped tree */
const parser = solutionXml;

const labelOf = (node: any): string => node?.labels?.[0]?.label?.[0]?.['@description'] ?? '';

/** The controls bound by controlDescriptions, by the uniqueid of the cell's control (web form factor). */
function panels(form: any): Map<string, FormPanelCell> {
  const found = new Map<string, FormPanelCell>();
  for (const description of form.controlDescriptions?.[0]?.controlDescription ?? []) {
    const component = (description.customControl ?? []).find(
      (custom: any) => custom['@name'] && (custom['@formFactor'] ?? '0') === '0',
    );
    if (!component) continue;
    const parameters: Record<string, string> = {};
    for (const [name, value] of Object.entries(component.parameters?.[0] ?? {})) {
      if (!name.startsWith('@')) parameters[name] = String((value as unknown[])[0]);
    }
    found.set(description['@forControl'], {
      control: String(component['@name']).split('.').pop()!,
      parameters,
    });
  }
  return found;
}

function cellsOf(section: any, bound: Map<string, FormPanelCell>): FormCell[] {
  return (section.rows?.[0]?.row ?? [])
    .flatMap((row: any) => row.cell ?? [])
    .flatMap((cell: any) => {
      const control = cell.control?.[0];
      if (!control) return [];
      if (control['@indicationOfSubgrid'] === 'true') {
        const parameter = (name: string) => String(control.parameters?.[0]?.[name]?.[0] ?? '');
        return [
          {
            label: labelOf(cell),
            field: '',
            disabled: true,
            subgrid: { table: parameter('TargetEntityType'), relationship: parameter('RelationshipName') },
          },
        ];
      }
      return [
        {
          label: labelOf(cell),
          field: control['@datafieldname'],
          disabled: control['@disabled'] === 'true',
          panel: bound.get(control['@uniqueid']),
        },
      ];
    });
}

function tabsOf(form: any): FormTabView[] {
  const bound = panels(form);
  return (form.tabs?.[0]?.tab ?? []).map((tab: any) => ({
    name: tab['@name'],
    label: labelOf(tab),
    sections: tab.columns[0].column
      .flatMap((column: any) => column.sections?.[0]?.section ?? [])
      .map((section: any) => ({
        name: section['@name'],
        label: labelOf(section),
        cells: cellsOf(section, bound),
      })),
  }));
}

/** Every main form of the solution, by table logical name (the Stripe tab alone for a standard table). */
export function mainForms(customizationsXml: string): Map<string, FormView> {
  const doc = parser.parse(customizationsXml).ImportExportXml[0];
  const forms = new Map<string, FormView>();
  for (const entity of doc.Entities?.[0]?.Entity ?? []) {
    const table = String(entity.Name[0]['#text'] ?? entity.Name[0]).toLowerCase();
    const main = (entity.FormXml?.[0]?.forms ?? []).find((group: any) => group['@type'] === 'main');
    const systemform = main?.systemform?.[0];
    if (!systemform) continue;
    const form = systemform.form[0];
    forms.set(table, {
      formId: String(systemform.formid[0]).replace(/[{}]/g, ''),
      table,
      tabs: tabsOf(form),
      libraries: (form.formLibraries?.[0]?.Library ?? []).map((library: any) => library['@name']),
    });
  }
  return forms;
}
