/**
 * The solution's non-table components as customizations.xml elements (roles, web resources, custom
 * controls, the webhook endpoint and its steps) and as their own files (environment variable definitions).
 */
import type { SolutionEnvironmentVariable } from '../components/environmentVariables';
import { environmentVariableTypeCode } from '../components/environmentVariables';
import type { SecurityRole } from '../components/roles';
import type { ServiceEndpointDefinition, WebhookStep } from '../components/webhooks';
import { sdkMessageIds, serviceBusPlugin } from '../components/webhooks';
import type { TableModel } from '../model/types';
import { el, renderDocument, text, type XmlElement } from './xml';

const INTRODUCED = '1.0';

/**
 * `prvReadAccount`, `prvCreatestc_payment`: a standard table's privileges carry its schema name, a custom
 * table's its logical name (as in real role exports: `prvReadmsdyn_…`, `prvWritenew_project`).
 */
export function privilegeName(model: TableModel, action: string, table: string): string {
  const found = model.tables.find((candidate) => candidate.logicalName === table);
  if (!found) throw new Error(`Role privilege on ${table}, which is not in the table model`);
  return `prv${action}${found.standard ? found.schemaName : found.logicalName}`;
}

export function rolesElement(model: TableModel, roles: SecurityRole[]): XmlElement {
  return el(
    'Roles',
    {},
    roles.map((role) =>
      el(
        'Role',
        { id: `{${role.id}}`, name: role.name },
        text('IsCustomizable', 1),
        text('IntroducedVersion', INTRODUCED),
        el(
          'RolePrivileges',
          {},
          role.privileges.flatMap((grant) =>
            grant.actions.map((action) =>
              el('RolePrivilege', { name: privilegeName(model, action, grant.table), level: grant.depth }),
            ),
          ),
        ),
      ),
    ),
  );
}

export function serviceEndpointsElement(endpoint: ServiceEndpointDefinition): XmlElement {
  return el(
    'ServiceEndpoints',
    {},
    el(
      'ServiceEndpoint',
      { ServiceEndpointId: `{${endpoint.id}}`, Name: endpoint.name },
      text('ConnectionMode', 1),
      text('Contract', endpoint.contract),
      text('Description', endpoint.description),
      text('UserClaim', 1),
      text('IsCustomizable', 1),
      text('AuthType', endpoint.authType),
      // 2: JSON, the RemoteExecutionContext the service parses.
      text('MessageFormat', 2),
      text('Url', endpoint.url),
    ),
  );
}

export function stepsElement(steps: WebhookStep[], endpoint: ServiceEndpointDefinition): XmlElement {
  return el(
    'SdkMessageProcessingSteps',
    {},
    steps.map((step) =>
      el(
        'SdkMessageProcessingStep',
        { Name: step.name, SdkMessageProcessingStepId: `{${step.id}}` },
        text('PluginTypeName', serviceBusPlugin.typeName),
        text('PluginTypeId', serviceBusPlugin.typeId),
        text('PrimaryEntity', step.table),
        text('AsyncAutoDelete', 0),
        text('Description', step.description),
        step.filteringAttributes ? text('FilteringAttributes', step.filteringAttributes.join(',')) : null,
        text('InvocationSource', 0),
        text('Mode', step.mode),
        text('Rank', 1),
        text('SdkMessageId', sdkMessageIds[step.message]),
        text('EventHandler', endpoint.id),
        // 4618: serviceendpoint, the step's handler is the webhook rather than a plug-in type.
        text('EventHandlerTypeCode', 4618),
        text('Stage', step.stage),
        text('IsCustomizable', 1),
        text('IsHidden', 0),
        text('SupportedDeployment', 0),
        text('IntroducedVersion', INTRODUCED),
        step.preImage || step.postImage
          ? el(
              'SdkMessageProcessingStepImages',
              {},
              step.preImage ? stepImage('PreImage', 0) : null,
              step.postImage ? stepImage('PostImage', 1) : null,
            )
          : null,
      ),
    ),
  );
}

/** A step image of the whole row under `alias`: ImageType 0 before the change, 1 after it. */
function stepImage(alias: 'PreImage' | 'PostImage', imageType: 0 | 1) {
  return el(
    'SdkMessageProcessingStepImage',
    { Name: alias },
    text('EntityAlias', alias),
    text('ImageType', imageType),
    text('MessagePropertyName', 'Target'),
    text('IsCustomizable', 1),
    text('IntroducedVersion', INTRODUCED),
  );
}

export interface WebResourceFile {
  /** `stc_/scripts/paymentForm.js` */
  name: string;
  displayName: string;
  /** 1 HTML, 2 CSS, 3 script, 4 XML, 5 PNG, 6 JPG, 7 GIF, 10 ICO, 11 SVG, 12 RESX. */
  type: number;
  id: string;
  /** Path inside the zip, beginning with `/WebResources/`. */
  fileName: string;
}

export function webResourcesElement(resources: WebResourceFile[]): XmlElement {
  return el(
    'WebResources',
    {},
    resources.map((resource) =>
      el(
        'WebResource',
        {},
        text('WebResourceId', `{${resource.id}}`),
        text('Name', resource.name),
        text('DisplayName', resource.displayName),
        text('LanguageCode', 1033),
        text('WebResourceType', resource.type),
        text('IntroducedVersion', INTRODUCED),
        text('IsEnabledForMobileClient', 0),
        text('IsAvailableForMobileOffline', 0),
        text('IsCustomizable', 1),
        text('CanBeDeleted', 1),
        text('IsHidden', 0),
        text('FileName', resource.fileName),
      ),
    ),
  );
}

export interface CustomControlFolder {
  /** `stc_StripeConnector.PaymentPanel` */
  name: string;
}

export function customControlsElement(controls: CustomControlFolder[]): XmlElement {
  return el(
    'CustomControls',
    {},
    controls.map((control) =>
      el(
        'CustomControl',
        {},
        text('Name', control.name),
        text('FileName', `/Controls/${control.name}/ControlManifest.xml`),
      ),
    ),
  );
}

/** `environmentvariabledefinitions/<schema name>/environmentvariabledefinition.xml` as a real export has it. */
export function environmentVariableXml(variable: SolutionEnvironmentVariable): string {
  return renderDocument(
    el(
      'environmentvariabledefinition',
      { schemaname: variable.schemaName },
      variable.defaultValue !== undefined ? text('defaultvalue', variable.defaultValue) : null,
      el(
        'description',
        { default: variable.description },
        el('label', { description: variable.description, languagecode: 1033 }),
      ),
      el(
        'displayname',
        { default: variable.displayName },
        el('label', { description: variable.displayName, languagecode: 1033 }),
      ),
      text('introducedversion', '1.0.0.0'),
      text('iscustomizable', 1),
      text('isrequired', variable.required ? 1 : 0),
      text('secretstore', 0),
      text('type', environmentVariableTypeCode[variable.type]),
    ),
  );
}
