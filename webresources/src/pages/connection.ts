/// <reference lib="dom" />
/**
 * The connection page (Settings > Monitoring > Connection in the app): what the connector service last
 * reported of itself (stc_connectorstatus, one row per Stripe account and mode) and a Test connection button.
 * The page reads and writes Dataverse only: a test is the time asked for in stc_testrequestedon, which the
 * service answers in stc_lasttestedon and stc_lasttestresult.
 */
import { ConnectorHealth, ConnectorStatus } from '@stc/solution/tables';
import { errorText, platform, type Platform } from '../common/record';

const c = ConnectorStatus.col;

/** A service that has not reported for this long is shown as not reporting. */
export const STALE_AFTER_MS = 5 * 60_000;

const TEXT = {
  1033: {
    title: 'Stripe connector service',
    none: 'The connector service has not reported yet. Check that it runs and can reach Dataverse.',
    mode: 'Mode',
    live: 'Live',
    test: 'Test',
    account: 'Stripe account',
    platform: 'Platform account',
    service: 'Service',
    health: 'Health',
    healthy: 'Healthy',
    degraded: 'Degraded',
    stale: 'Not reporting since {0}',
    heartbeat: 'Last report',
    lastEvent: 'Last event received',
    noEvent: 'None yet',
    queue: 'Queue',
    queueText: '{0} waiting, {1} dead letters',
    lastTest: 'Last connection test',
    notTested: 'Not tested yet',
    passed: 'Passed',
    failed: 'Failed',
    testButton: 'Test connection',
    testing: 'Testing…',
    noAnswer: 'The service did not answer the test within {0} seconds.',
    readFailed: 'The connector status could not be read: {0}',
  },
  1031: {
    title: 'Stripe-Connector-Dienst',
    none: 'Der Connector-Dienst hat sich noch nicht gemeldet. Prüfen Sie, ob er läuft und Dataverse erreicht.',
    mode: 'Modus',
    live: 'Live',
    test: 'Test',
    account: 'Stripe-Konto',
    platform: 'Plattformkonto',
    service: 'Dienst',
    health: 'Zustand',
    healthy: 'In Ordnung',
    degraded: 'Beeinträchtigt',
    stale: 'Keine Meldung seit {0}',
    heartbeat: 'Letzte Meldung',
    lastEvent: 'Zuletzt empfangenes Ereignis',
    noEvent: 'Noch keines',
    queue: 'Warteschlange',
    queueText: '{0} wartend, {1} unzustellbar',
    lastTest: 'Letzter Verbindungstest',
    notTested: 'Noch nicht getestet',
    passed: 'Bestanden',
    failed: 'Fehlgeschlagen',
    testButton: 'Verbindung testen',
    testing: 'Test läuft…',
    noAnswer: 'Der Dienst hat den Test nicht innerhalb von {0} Sekunden beantwortet.',
    readFailed: 'Der Connector-Status konnte nicht gelesen werden: {0}',
  },
} as const;

type Key = keyof (typeof TEXT)[1033];

export function text(languageId: number, key: Key, ...args: (string | number)[]): string {
  const table = (TEXT as Record<number, Record<Key, string>>)[languageId] ?? TEXT[1033];
  return table[key].replace(/\{(\d)\}/g, (_, index: string) => String(args[Number(index)] ?? ''));
}

export interface StatusCard {
  id: string;
  heading: string;
  /** healthy, degraded, or stale when the service stopped reporting. */
  state: 'healthy' | 'degraded' | 'stale';
  fields: Array<[label: string, value: string]>;
  testedOn: string | null;
}

export const STATUS_QUERY = `?$select=${[
  ConnectorStatus.primaryId,
  c.serviceUrl,
  c.serviceVersion,
  c.liveMode,
  c.stripeAccount,
  c.stripeAccountName,
  c.health,
  c.healthDetail,
  c.lastHeartbeat,
  c.lastEventReceived,
  c.lastEventId,
  c.lastEventType,
  c.pendingEvents,
  c.deadLetters,
  c.lastTestedOn,
  c.lastTestSucceeded,
  c.lastTestResult,
].join(',')}&$orderby=${c.liveMode} desc,${c.stripeAccount} asc`;

function when(value: unknown, languageId: number): string {
  if (typeof value !== 'string' || !value) return '';
  return (
    new Date(value).toLocaleString(languageId === 1031 ? 'de-DE' : 'en-US', { timeZone: 'UTC' }) + ' UTC'
  );
}

/** What the page shows of one status row. */
export function statusCard(row: Record<string, unknown>, nowMs: number, languageId: number): StatusCard {
  const t = (key: Key, ...args: (string | number)[]) => text(languageId, key, ...args);
  const heartbeat = Date.parse(String(row[c.lastHeartbeat] ?? ''));
  const stale = !(nowMs - heartbeat < STALE_AFTER_MS);
  const healthy = row[c.health] === ConnectorHealth.healthy;
  const account = row[c.stripeAccount]
    ? `${row[c.stripeAccountName] ?? ''} (${row[c.stripeAccount]})`.trim()
    : `${row[c.stripeAccountName] ?? t('platform')}`;
  const health = stale
    ? t('stale', when(row[c.lastHeartbeat], languageId))
    : [t(healthy ? 'healthy' : 'degraded'), row[c.healthDetail]].filter(Boolean).join(': ');
  const lastEvent = row[c.lastEventReceived]
    ? `${when(row[c.lastEventReceived], languageId)} · ${row[c.lastEventType] ?? ''} ${row[c.lastEventId] ?? ''}`.trim()
    : t('noEvent');
  const lastTest = row[c.lastTestedOn]
    ? `${when(row[c.lastTestedOn], languageId)} · ${t(row[c.lastTestSucceeded] ? 'passed' : 'failed')}: ${row[c.lastTestResult] ?? ''}`
    : t('notTested');
  return {
    id: String(row[ConnectorStatus.primaryId]),
    heading: `${t(row[c.liveMode] ? 'live' : 'test')} · ${account}`,
    state: stale ? 'stale' : healthy ? 'healthy' : 'degraded',
    fields: [
      [t('service'), [row[c.serviceUrl], row[c.serviceVersion]].filter(Boolean).join(' · ')],
      [t('health'), health],
      [t('heartbeat'), when(row[c.lastHeartbeat], languageId)],
      [t('lastEvent'), lastEvent],
      [t('queue'), t('queueText', Number(row[c.pendingEvents] ?? 0), Number(row[c.deadLetters] ?? 0))],
      [t('lastTest'), lastTest],
    ],
    testedOn: (row[c.lastTestedOn] as string | null) ?? null,
  };
}

export async function readStatus(host: Platform): Promise<Array<Record<string, unknown>>> {
  const result = await host.webApi.retrieveMultipleRecords(ConnectorStatus.logicalName, STATUS_QUERY);
  return result.entities;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the service for a connection test and waits for its answer (polled every `pollMs`, at most
 * `timeoutMs`); the answered row, or null when none came in time.
 */
export async function testConnection(
  host: Platform,
  statusId: string,
  options: { pollMs: number; timeoutMs: number; now?: () => Date },
): Promise<Record<string, unknown> | null> {
  const asked = (options.now ?? (() => new Date()))().toISOString();
  await host.webApi.updateRecord(ConnectorStatus.logicalName, statusId, { [c.testRequestedOn]: asked });
  for (let waited = 0; waited <= options.timeoutMs; waited += options.pollMs) {
    const row = await host.webApi.retrieveRecord(
      ConnectorStatus.logicalName,
      statusId,
      STATUS_QUERY.split('&')[0],
    );
    // Dataverse keeps times to the second: an answer in the second asked counts.
    const testedOn = Date.parse(String(row[c.lastTestedOn] ?? ''));
    if (testedOn >= Math.floor(Date.parse(asked) / 1000) * 1000) return row;
    await sleep(options.pollMs);
  }
  return null;
}

function cardElement(
  doc: Document,
  card: StatusCard,
  languageId: number,
  onTest: (button: HTMLButtonElement) => void,
) {
  const section = doc.createElement('section');
  section.className = `card ${card.state}`;
  section.setAttribute('aria-label', card.heading);
  const heading = doc.createElement('h2');
  heading.textContent = card.heading;
  const list = doc.createElement('dl');
  for (const [label, value] of card.fields) {
    const term = doc.createElement('dt');
    term.textContent = label;
    const detail = doc.createElement('dd');
    detail.textContent = value;
    list.append(term, detail);
  }
  const button = doc.createElement('button');
  button.type = 'button';
  button.textContent = text(languageId, 'testButton');
  button.addEventListener('click', () => onTest(button));
  section.append(heading, list, button);
  return section;
}

/** Renders the page into `root` and wires the buttons; reads again after each test. */
export async function renderConnectionPage(
  root: HTMLElement,
  host: Platform,
  options: { pollMs: number; timeoutMs: number; now?: () => number } = { pollMs: 3000, timeoutMs: 120_000 },
): Promise<void> {
  const doc = root.ownerDocument;
  const lang = host.languageId;
  const now = options.now ?? Date.now;
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await readStatus(host);
  } catch (error) {
    root.replaceChildren(
      Object.assign(doc.createElement('p'), {
        role: 'alert',
        textContent: text(lang, 'readFailed', errorText(error)),
      }),
    );
    return;
  }
  const title = Object.assign(doc.createElement('h1'), { textContent: text(lang, 'title') });
  if (rows.length === 0) {
    root.replaceChildren(title, Object.assign(doc.createElement('p'), { textContent: text(lang, 'none') }));
    return;
  }
  const status = Object.assign(doc.createElement('p'), { className: 'status' });
  status.setAttribute('role', 'status');
  const onTest = (id: string) => async (button: HTMLButtonElement) => {
    button.disabled = true;
    status.textContent = text(lang, 'testing');
    try {
      const answered = await testConnection(host, id, {
        pollMs: options.pollMs,
        timeoutMs: options.timeoutMs,
      });
      status.textContent = answered ? '' : text(lang, 'noAnswer', Math.round(options.timeoutMs / 1000));
      if (answered) return await renderConnectionPage(root, host, options);
    } catch (error) {
      status.textContent = text(lang, 'readFailed', errorText(error));
    }
    button.disabled = false;
  };
  const cards = rows.map((row) => statusCard(row, now(), lang));
  root.replaceChildren(title, status, ...cards.map((card) => cardElement(doc, card, lang, onTest(card.id))));
}

/**
 * The page's entry, called by connection.html: the platform is the app's, one frame up (a web resource page
 * in the sitemap runs in a frame of the app).
 */
export function start(root: HTMLElement = document.getElementById('root')!): Promise<void> {
  const xrm =
    (window.parent as unknown as { Xrm?: Xrm.XrmStatic }).Xrm ??
    (window as unknown as { Xrm: Xrm.XrmStatic }).Xrm;
  return renderConnectionPage(root, platform(xrm));
}
