/**
 * solution.xml: the manifest naming the solution, its version, whether it is managed, its publisher and
 * its root components.
 */
import { el, labels, renderDocument, text, type XmlElement } from './xml';

/** Solution component types used in RootComponents. */
export const ComponentType = {
  Entity: 1,
  Attribute: 2,
  Relationship: 10,
  EntityKey: 14,
  Role: 20,
  SystemForm: 60,
  WebResource: 61,
  SiteMap: 62,
  CustomControl: 66,
  AppModule: 80,
  SdkMessageProcessingStep: 92,
  ServiceEndpoint: 95,
  EnvironmentVariableDefinition: 380,
} as const;

export interface RootComponent {
  type: number;
  schemaName?: string;
  id?: string;
  /** 0: include subcomponents; 2: the table's shell only (its settings stay as the environment has them). */
  behavior: 0 | 1 | 2;
}

export interface SolutionManifest {
  uniqueName: string;
  displayName: string;
  description: string;
  version: string;
  managed: boolean;
  publisher: {
    uniqueName: string;
    displayName: string;
    description: string;
    prefix: string;
    optionValuePrefix: number;
  };
  rootComponents: RootComponent[];
}

/**
 * Four-part solution version from a semver `major.minor.patch`; the fourth part is the build number
 * (STC_BUILD_NUMBER in CI), 0 for a local build. A later package version is an upgrade in Dataverse.
 */
export function solutionVersion(packageVersion: string, build = process.env.STC_BUILD_NUMBER ?? '0'): string {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(packageVersion);
  if (!match) throw new Error(`package.json version "${packageVersion}" is not major.minor.patch`);
  if (!/^\d+$/.test(build)) throw new Error(`STC_BUILD_NUMBER "${build}" is not a whole number`);
  return `${match[1]}.${match[2]}.${match[3]}.${build}`;
}

const nil = (name: string): XmlElement => el(name, { 'xsi:nil': 'true' });

function address(number: number): XmlElement {
  return el(
    'Address',
    {},
    text('AddressNumber', number),
    text('AddressTypeCode', 1),
    [
      'City',
      'County',
      'Country',
      'Fax',
      'FreightTermsCode',
      'ImportSequenceNumber',
      'Latitude',
      'Line1',
      'Line2',
    ]
      .concat(['Line3', 'Longitude', 'Name', 'PostalCode', 'PostOfficeBox', 'PrimaryContactName'])
      .map(nil),
    text('ShippingMethodCode', 1),
    ['StateOrProvince', 'Telephone1', 'Telephone2', 'Telephone3', 'TimeZoneRuleVersionNumber', 'UPSZone']
      .concat(['UTCOffset', 'UTCConversionTimeZoneCode'])
      .map(nil),
  );
}

export function solutionXml(manifest: SolutionManifest): string {
  const { publisher } = manifest;
  return renderDocument(
    el(
      'ImportExportXml',
      {
        version: '9.2.24101.200',
        SolutionPackageVersion: '9.2',
        languagecode: 1033,
        generatedBy: 'CrmLive',
        'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      },
      el(
        'SolutionManifest',
        {},
        text('UniqueName', manifest.uniqueName),
        labels('LocalizedNames', 'LocalizedName', manifest.displayName),
        labels('Descriptions', 'Description', manifest.description),
        text('Version', manifest.version),
        text('Managed', manifest.managed ? 1 : 0),
        el(
          'Publisher',
          {},
          text('UniqueName', publisher.uniqueName),
          labels('LocalizedNames', 'LocalizedName', publisher.displayName),
          labels('Descriptions', 'Description', publisher.description),
          nil('EMailAddress'),
          nil('SupportingWebsiteUrl'),
          text('CustomizationPrefix', publisher.prefix),
          text('CustomizationOptionValuePrefix', publisher.optionValuePrefix),
          el('Addresses', {}, address(1), address(2)),
        ),
        el(
          'RootComponents',
          {},
          manifest.rootComponents.map((component) =>
            el('RootComponent', {
              type: component.type,
              schemaName: component.schemaName,
              id: component.id ? `{${component.id}}` : undefined,
              behavior: component.behavior,
            }),
          ),
        ),
        el('MissingDependencies'),
      ),
    ),
  );
}
