/**
 * Webhook registration the way a solution or an admin does it in Dataverse (Microsoft Learn, "Register a
 * WebHook"; serviceendpoint and sdkmessageprocessingstep references): a `serviceendpoints` row (contract 8,
 * url, authtype 4/5/6, authvalue), `sdkmessageprocessingsteps` rows pointing at it through
 * `eventhandler_serviceendpoint`, at an `sdkmessages` row (Create/Update/Delete) and at an `sdkmessagefilters`
 * row naming the table, plus optional `sdkmessageprocessingstepimages`. The emulator keeps these tables like
 * any other and turns the rows into live webhook steps after every commit.
 */
import { createHash } from 'node:crypto';
import type { Column, Table } from '@stc/solution';
import type { ModelIndex } from './metadata';
import { isLookupRef, type RowStore } from './store';
import type { WebhookAuth, WebhookRegistration } from './webhooks';

const col = (c: Record<string, unknown>): Column =>
  ({
    requiredLevel: 'none',
    system: true,
    schemaName: c.logicalName,
    displayName: c.logicalName,
    ...c,
  }) as Column;

const table = (
  logicalName: string,
  entitySetName: string,
  primaryName: string,
  columns: Column[],
): Table => ({
  logicalName,
  schemaName: logicalName,
  entitySetName,
  displayName: logicalName,
  pluralName: entitySetName,
  description: 'Platform table kept by the emulator for webhook registration.',
  primaryIdColumn: `${logicalName}id`,
  primaryNameColumn: primaryName,
  standard: true,
  ownership: 'OrganizationOwned',
  columns: [col({ logicalName: `${logicalName}id`, type: 'uniqueidentifier' }), ...columns],
  keys: [],
});

const lookup = (logicalName: string, target: string, navigation = logicalName) =>
  col({ logicalName, type: 'lookup', targets: [target], navigation: { [target]: navigation } });

export const registrationTables: Table[] = [
  table('serviceendpoint', 'serviceendpoints', 'name', [
    col({ logicalName: 'name', type: 'string', maxLength: 256 }),
    col({ logicalName: 'description', type: 'memo', maxLength: 2000 }),
    col({ logicalName: 'url', type: 'string', maxLength: 2000 }),
    col({ logicalName: 'contract', type: 'integer' }),
    col({ logicalName: 'authtype', type: 'integer' }),
    col({ logicalName: 'authvalue', type: 'memo', maxLength: 4000 }),
    col({ logicalName: 'messageformat', type: 'integer' }),
    col({ logicalName: 'namespaceaddress', type: 'string', maxLength: 255 }),
  ]),
  table('sdkmessage', 'sdkmessages', 'name', [col({ logicalName: 'name', type: 'string', maxLength: 256 })]),
  table('sdkmessagefilter', 'sdkmessagefilters', 'primaryobjecttypecode', [
    col({ logicalName: 'primaryobjecttypecode', type: 'string', maxLength: 128 }),
    lookup('sdkmessageid', 'sdkmessage'),
  ]),
  table('sdkmessageprocessingstep', 'sdkmessageprocessingsteps', 'name', [
    col({ logicalName: 'name', type: 'string', maxLength: 256 }),
    col({ logicalName: 'description', type: 'memo', maxLength: 2000 }),
    col({ logicalName: 'stage', type: 'integer' }),
    col({ logicalName: 'mode', type: 'integer' }),
    col({ logicalName: 'rank', type: 'integer' }),
    col({ logicalName: 'supporteddeployment', type: 'integer' }),
    col({ logicalName: 'asyncautodelete', type: 'boolean', trueLabel: 'Yes', falseLabel: 'No' }),
    col({ logicalName: 'filteringattributes', type: 'string', maxLength: 100000 }),
    col({ logicalName: 'statecode', type: 'integer' }),
    lookup('sdkmessageid', 'sdkmessage'),
    lookup('sdkmessagefilterid', 'sdkmessagefilter'),
    lookup('eventhandler', 'serviceendpoint', 'eventhandler_serviceendpoint'),
  ]),
  table('sdkmessageprocessingstepimage', 'sdkmessageprocessingstepimages', 'name', [
    col({ logicalName: 'name', type: 'string', maxLength: 256 }),
    col({ logicalName: 'entityalias', type: 'string', maxLength: 256 }),
    col({ logicalName: 'imagetype', type: 'integer' }),
    col({ logicalName: 'attributes', type: 'string', maxLength: 100000 }),
    col({ logicalName: 'messagepropertyname', type: 'string', maxLength: 256 }),
    lookup('sdkmessageprocessingstepid', 'sdkmessageprocessingstep'),
  ]),
];

export const REGISTRATION_TABLES = new Set(registrationTables.map((t) => t.logicalName));

/** Well-known SDK message ids (the same in every environment) for Create and Update; Delete's is the emulator's. */
export const SDK_MESSAGE_IDS: Record<'Create' | 'Update' | 'Delete', string> = {
  Create: '9ebdbb1b-ea3e-db11-86a7-000a3a5473e8',
  Update: '20bebb1b-ea3e-db11-86a7-000a3a5473e8',
  Delete: 'e3bebb1b-ea3e-db11-86a7-000a3a5473e8',
};

/** A stable id derived from a name (the same on every start), for the seeded message filters. */
export function nameBasedId(name: string): string {
  const h = createHash('sha1').update(`stc-dataverse-emulator:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const messageFilterId = (table: string, message: string) =>
  nameBasedId(`sdkmessagefilter:${table}:${message}`);

/** Rows every environment has: the three messages and a filter per (table, message). */
export function seedRows(
  index: ModelIndex,
): Array<{ table: string; id: string; payload: Record<string, unknown> }> {
  const rows: Array<{ table: string; id: string; payload: Record<string, unknown> }> = [];
  for (const [name, id] of Object.entries(SDK_MESSAGE_IDS))
    rows.push({ table: 'sdkmessage', id, payload: { name } });
  for (const meta of index.tables) {
    if (REGISTRATION_TABLES.has(meta.logicalName)) continue;
    for (const [message, messageId] of Object.entries(SDK_MESSAGE_IDS)) {
      rows.push({
        table: 'sdkmessagefilter',
        id: messageFilterId(meta.logicalName, message),
        payload: {
          primaryobjecttypecode: meta.logicalName,
          'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
        },
      });
    }
  }
  return rows;
}

/** `<settings><setting name="x-key" value="…" /></settings>`, as authvalue holds header and query-string pairs. */
export function parseAuthSettings(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const decode = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  for (const m of value.matchAll(/<setting\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g))
    out[decode(m[1])] = decode(m[2]);
  return out;
}

/** Live webhook steps from the registration rows: enabled steps on a webhook (contract 8) endpoint. */
export function stepsFromRows(store: RowStore): Array<{ id: string; registration: WebhookRegistration }> {
  const steps: Array<{ id: string; registration: WebhookRegistration }> = [];
  const images = [...store.rows('sdkmessageprocessingstepimage')];
  for (const step of store.rows('sdkmessageprocessingstep')) {
    const v = step.values;
    if (v.statecode === 1) continue;
    const handler = v.eventhandler;
    const messageRef = v.sdkmessageid;
    const filterRef = v.sdkmessagefilterid;
    if (!isLookupRef(handler) || !isLookupRef(messageRef) || !isLookupRef(filterRef)) continue;
    const endpoint = store.get('serviceendpoint', handler.id)?.values;
    const message = store.get('sdkmessage', messageRef.id)?.values.name;
    const table = store.get('sdkmessagefilter', filterRef.id)?.values.primaryobjecttypecode;
    if (!endpoint || endpoint.contract !== 8 || typeof endpoint.url !== 'string') continue;
    if (message !== 'Create' && message !== 'Update' && message !== 'Delete') continue;
    if (typeof table !== 'string') continue;

    const authValue = typeof endpoint.authvalue === 'string' ? endpoint.authvalue : '';
    let auth: WebhookAuth | undefined;
    if (endpoint.authtype === 4) auth = { type: 'WebhookKey', key: authValue };
    else if (endpoint.authtype === 5) auth = { type: 'HttpHeader', headers: parseAuthSettings(authValue) };
    else if (endpoint.authtype === 6)
      auth = { type: 'HttpQueryString', params: parseAuthSettings(authValue) };

    const registration: WebhookRegistration = {
      table,
      message,
      url: endpoint.url,
      auth,
      mode: v.mode === 0 ? 'sync' : 'async',
      name: typeof v.name === 'string' ? v.name : undefined,
      filteringAttributes:
        typeof v.filteringattributes === 'string' && v.filteringattributes.trim()
          ? v.filteringattributes.split(',').map((a) => a.trim())
          : undefined,
    };
    for (const image of images) {
      const ref = image.values.sdkmessageprocessingstepid;
      if (!isLookupRef(ref) || ref.id !== step.id) continue;
      const spec = {
        name: typeof image.values.entityalias === 'string' ? image.values.entityalias : undefined,
        attributes:
          typeof image.values.attributes === 'string' && image.values.attributes
            ? image.values.attributes.split(',').map((a) => a.trim())
            : undefined,
      };
      if (image.values.imagetype === 0 || image.values.imagetype === 2) registration.preImage = spec;
      if (image.values.imagetype === 1 || image.values.imagetype === 2) registration.postImage = spec;
    }
    steps.push({ id: step.id, registration });
  }
  return steps;
}
