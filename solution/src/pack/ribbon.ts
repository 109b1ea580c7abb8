/**
 * The command bar buttons of a form as RibbonDiffXml: a CustomAction on the form's command bar, a
 * CommandDefinition that calls the form script with the form context, a display rule by privilege (a user
 * without it does not see the button) and an enable rule that waits for the row to be saved, in the shape
 * of a real export.
 */
import type { FormCommand, FormTabAddition } from '../app/forms';
import { el, type XmlElement } from './xml';

const NOT_NEW = 'stc.FormStateNotNew';

const displayRuleId = (command: FormCommand) => `${command.id}.Privilege`;
const labelId = (command: FormCommand, part: 'LabelText' | 'ToolTip') => `${command.id}.${part}`;

function customAction(table: string, command: FormCommand, sequence: number): XmlElement {
  return el(
    'CustomAction',
    {
      Id: `${command.id}.CustomAction`,
      Location: `Mscrm.Form.${table}.MainTab.Save.Controls._children`,
      Sequence: sequence,
    },
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
    el('EnableRules', {}, el('EnableRule', { Id: NOT_NEW })),
    el('DisplayRules', {}, el('DisplayRule', { Id: displayRuleId(command) })),
    el(
      'Actions',
      {},
      el(
        'JavaScriptFunction',
        { FunctionName: command.functionName, Library: `$webresource:${library}` },
        el('CrmParameter', { Value: 'PrimaryControl' }),
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

export function ribbonDiffElement(addition: FormTabAddition): XmlElement {
  const { commands, table, script } = addition;
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
      commands.map((command) => commandDefinition(script.library, command)),
    ),
    el(
      'RuleDefinitions',
      {},
      el('TabDisplayRules'),
      el('DisplayRules', {}, commands.map(privilegeRule)),
      el(
        'EnableRules',
        {},
        el('EnableRule', { Id: NOT_NEW }, el('FormStateRule', { State: 'Create', InvertResult: 'true' })),
      ),
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
