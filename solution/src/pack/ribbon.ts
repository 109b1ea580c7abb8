/**
 * Command bar buttons as RibbonDiffXml: a CustomAction on the form's or the list's command bar, a
 * CommandDefinition that calls the table's script with the form context (or the selected rows), a display
 * rule by privilege (a user without it does not see the button) and an enable rule (the row saved, a
 * column's value, a selection, or a function of the form's script), in the shape of a real export.
 */
import type { FormCommand, TableCommands } from '../app/forms';
import { el, type XmlElement } from './xml';

const NOT_NEW = 'stc.FormStateNotNew';
const SELECTED = 'stc.SelectionNotEmpty';

const displayRuleId = (command: FormCommand) => `${command.id}.Privilege`;
const labelId = (command: FormCommand, part: 'LabelText' | 'ToolTip') => `${command.id}.${part}`;

const onGrid = (command: FormCommand) => command.surface === 'grid';
const valueRuleId = (command: FormCommand) => `${command.id}.Enabled`;

function enableRuleId(command: FormCommand): string {
  if (onGrid(command)) return SELECTED;
  return command.enabledWhen || command.enabledBy ? valueRuleId(command) : NOT_NEW;
}

function customAction(table: string, command: FormCommand, sequence: number): XmlElement {
  const location = onGrid(command)
    ? `Mscrm.HomepageGrid.${table}.MainTab.Management.Controls._children`
    : `Mscrm.Form.${table}.MainTab.Save.Controls._children`;
  return el(
    'CustomAction',
    { Id: `${command.id}.CustomAction`, Location: location, Sequence: sequence },
    el(
      'CommandUIDefinition',
      {},
      el('Button', {
        Id: `${command.id}.Button`,
        Command: command.id,
        Sequence: sequence,
        LabelText: `$LocLabels:${labelId(command, 'LabelText')}`,
        Alt: `$LocLabels:${labelId(command, 'LabelText')}`,
        ToolTipTitle: `$LocLabels:${labelId(command, 'LabelText')}`,
        ToolTipDescription: `$LocLabels:${labelId(command, 'ToolTip')}`,
        TemplateAlias: 'o1',
        ModernImage: command.icon,
      }),
    ),
  );
}

function commandDefinition(library: string, command: FormCommand): XmlElement {
  return el(
    'CommandDefinition',
    { Id: command.id },
    el('EnableRules', {}, el('EnableRule', { Id: enableRuleId(command) })),
    el('DisplayRules', {}, el('DisplayRule', { Id: displayRuleId(command) })),
    el(
      'Actions',
      {},
      el(
        'JavaScriptFunction',
        { FunctionName: command.functionName, Library: `$webresource:${library}` },
        el('CrmParameter', { Value: onGrid(command) ? 'SelectedControlSelectedItemIds' : 'PrimaryControl' }),
      ),
    ),
  );
}

function privilegeRule(command: FormCommand): XmlElement {
  return el(
    'DisplayRule',
    { Id: displayRuleId(command) },
    el('EntityPrivilegeRule', {
      EntityName: command.privilegeTable,
      PrivilegeType: command.privilege,
      PrivilegeDepth: 'Basic',
    }),
  );
}

function locLabel(id: string, text: string): XmlElement {
  return el('LocLabel', { Id: id }, el('Titles', {}, el('Title', { description: text, languagecode: 1033 })));
}

function enableRules(library: string, commands: FormCommand[]): XmlElement[] {
  const rules: XmlElement[] = [];
  if (commands.some((command) => !onGrid(command) && !command.enabledWhen && !command.enabledBy)) {
    rules.push(
      el('EnableRule', { Id: NOT_NEW }, el('FormStateRule', { State: 'Create', InvertResult: 'true' })),
    );
  }
  if (commands.some(onGrid)) {
    rules.push(
      el(
        'EnableRule',
        { Id: SELECTED },
        el('SelectionCountRule', { AppliesTo: 'SelectedEntity', Minimum: 1 }),
      ),
    );
  }
  for (const command of commands) {
    if (onGrid(command)) continue;
    // A function of the form's script decides, with the form context (it may answer with a promise).
    if (command.enabledBy) {
      rules.push(
        el(
          'EnableRule',
          { Id: valueRuleId(command) },
          el(
            'CustomRule',
            { FunctionName: command.enabledBy, Library: `$webresource:${library}`, Default: 'false' },
            el('CrmParameter', { Value: 'PrimaryControl' }),
          ),
        ),
      );
      continue;
    }
    if (!command.enabledWhen) continue;
    const { column, value } = command.enabledWhen;
    rules.push(
      el('EnableRule', { Id: valueRuleId(command) }, el('ValueRule', { Field: column, Value: value })),
    );
  }
  return rules;
}

export function ribbonDiffElement({ table, library, commands }: TableCommands): XmlElement {
  return el(
    'RibbonDiffXml',
    {},
    el(
      'CustomActions',
      {},
      commands.map((command, index) => customAction(table, command, 80 + index)),
    ),
    el('Templates', {}, el('RibbonTemplates', { Id: 'Mscrm.Templates' })),
    el(
      'CommandDefinitions',
      {},
      commands.map((command) => commandDefinition(library, command)),
    ),
    el(
      'RuleDefinitions',
      {},
      el('TabDisplayRules'),
      el('DisplayRules', {}, commands.map(privilegeRule)),
      el('EnableRules', {}, enableRules(library, commands)),
    ),
    el(
      'LocLabels',
      {},
      commands.flatMap((command) => [
        locLabel(labelId(command, 'LabelText'), command.label),
        locLabel(labelId(command, 'ToolTip'), command.tooltip),
      ]),
    ),
  );
}
