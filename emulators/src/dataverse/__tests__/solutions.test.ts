/**
 * ImportSolution and StageAndUpgrade on an environment that starts without the solution: the import builds the
 * tables, `solutions` lists what is installed, an upgrade adds columns and options without losing rows, and
 * the refusals (an older version, an upgrade deleting a column with data) leave the environment as it was.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { model, type Column, type TableModel } from '@stc/solution';
import { startDataverseEmulator, type DataverseEmulator } from '..';
import { call, expectError, expectErrorMessage } from './harness';
import { importBody, solutionZip } from './solution-zip';

const ADDED_STATUS = 10999;

const note: Column = {
  logicalName: 'stc_note',
  schemaName: 'stc_Note',
  displayName: 'Note',
  requiredLevel: 'none',
  type: 'string',
  maxLength: 200,
  format: 'text',
};

/** The repository's model with a note column on stc_payment and a payment status added. */
function withNote(): TableModel {
  const tables = model.tables.map((t) =>
    t.logicalName === 'stc_payment' ? { ...t, columns: [...t.columns, note] } : t,
  );
  const optionSets = model.optionSets.map((s) =>
    s.name === 'stc_paymentstatus'
      ? {
          ...s,
          options: [...s.options, { value: ADDED_STATUS, label: 'Added later', externalValue: 'added' }],
        }
      : s,
  );
  return { ...model, tables, optionSets };
}

let zips: { v1: Buffer; v1note: Buffer; v2note: Buffer; v3: Buffer; v1unmanaged: Buffer };
let dv: DataverseEmulator;

beforeAll(async () => {
  zips = {
    v1: await solutionZip('1.0.0'),
    v1note: await solutionZip('1.0.0', { model: withNote() }),
    v2note: await solutionZip('1.1.0', { model: withNote() }),
    v3: await solutionZip('1.2.0'),
    v1unmanaged: await solutionZip('1.0.0', { managed: false }),
  };
}, 120_000);

beforeEach(async () => {
  dv = await startDataverseEmulator({ withoutSolution: true });
});

afterEach(() => dv.close());

const payment = { stc_name: 'pi_1', stc_stripeid: 'pi_1', stc_amount: 12.5, stc_currency: 'usd' };

test('an environment without the solution has the platform tables only', async () => {
  expect((await call(dv, 'GET', 'accounts')).status).toBe(200);
  expectError(await call(dv, 'GET', 'stc_payments'), 404, {
    code: '0x8006088a',
    message: "Resource not found for the segment 'stc_payments'.",
  });
  expect((await call(dv, 'GET', 'solutions')).body.value).toEqual([]);
});

test('ImportSolution builds the tables, keys and option sets, lists the solution and records the job', async () => {
  const jobId = randomUUID();
  const r = await call(dv, 'POST', 'ImportSolution', importBody(zips.v1, jobId));
  expect(r.status).toBe(204);
  const created = await call(dv, 'POST', 'stc_payments', payment);
  expect(created.status).toBe(204);
  const byKey = await call(dv, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_amount");
  expect(byKey.body.stc_amount).toBe(12.5);
  const account = await call(dv, 'POST', 'accounts', { name: 'Contoso', stc_stripecustomerid: 'cus_1' });
  expect(account.status).toBe(204);
  expect((await call(dv, 'GET', "accounts(stc_stripecustomerid='cus_1')")).body.name).toBe('Contoso');
  const solutions = await call(dv, 'GET', 'solutions?$select=uniquename,version,ismanaged');
  expect(solutions.body.value).toEqual([
    expect.objectContaining({ uniquename: 'StripeConnector', version: '1.0.0.0', ismanaged: true }),
  ]);
  const job = await call(dv, 'GET', `importjobs(${jobId})`);
  expect(job.body).toMatchObject({ solutionname: 'StripeConnector', progress: 100 });
  expect(job.body.completedon).toEqual(expect.any(String));
}, 30_000);

test('StageAndUpgrade to a version adding a column and an option keeps the rows', async () => {
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v1))).status).toBe(204);
  expect((await call(dv, 'POST', 'stc_payments', payment)).status).toBe(204);
  expectErrorMessage(
    await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_1')", { stc_note: 'x' }),
    400,
    'stc_note',
  );
  const status = { stc_status: ADDED_STATUS };
  expect((await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_1')", status)).status).toBe(400);
  const upgraded = await call(dv, 'POST', 'StageAndUpgrade', importBody(zips.v2note));
  expect(upgraded.status).toBe(200);
  expect(upgraded.body.SolutionId).toEqual(expect.any(String));
  const patched = await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_1')", {
    stc_note: 'kept',
    ...status,
  });
  expect(patched.status).toBe(204);
  const row = await call(dv, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_amount,stc_note");
  expect(row.body).toMatchObject({ stc_amount: 12.5, stc_note: 'kept' });
  expect(
    (await call(dv, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_status")).body.stc_status,
  ).toBe(ADDED_STATUS);
  const listed = await call(dv, 'GET', 'solutions?$select=version');
  expect(listed.body.value.map((s: { version: string }) => s.version)).toEqual(['1.1.0.0']);
}, 30_000);

test('a managed solution of an older or equal version is refused', async () => {
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v2note))).status).toBe(204);
  const refusal = {
    code: '0x80048033',
    message: 'The import solution must have a higher version than the existing solution it is upgrading.',
  };
  expectError(await call(dv, 'POST', 'ImportSolution', importBody(zips.v1)), 400, refusal);
  expectError(await call(dv, 'POST', 'StageAndUpgrade', importBody(zips.v2note)), 400, refusal);
  const listed = await call(dv, 'GET', 'solutions?$select=version');
  expect(listed.body.value.map((s: { version: string }) => s.version)).toEqual(['1.1.0.0']);
}, 30_000);

test('an upgrade deleting a column that holds data is refused, naming table and column', async () => {
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v1note))).status).toBe(204);
  expect((await call(dv, 'POST', 'stc_payments', { ...payment, stc_note: 'keep me' })).status).toBe(204);
  const r = await call(dv, 'POST', 'StageAndUpgrade', importBody(zips.v3));
  expectErrorMessage(r, 400, 'deletes the column stc_payment.stc_note, which holds data in 1 row(s)');
  const row = await call(dv, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_note");
  expect(row.body.stc_note).toBe('keep me');
  // Cleared, the column may go.
  await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_1')", { stc_note: null });
  expect((await call(dv, 'POST', 'StageAndUpgrade', importBody(zips.v3))).status).toBe(200);
  expectErrorMessage(
    await call(dv, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_note"),
    400,
    'stc_note',
  );
}, 30_000);

test('an update (ImportSolution of a newer version) deletes nothing', async () => {
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v1note))).status).toBe(204);
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v3))).status).toBe(204);
  expect((await call(dv, 'POST', 'stc_payments', { ...payment, stc_note: 'still here' })).status).toBe(204);
}, 30_000);

/** ImportSolution of `zip` is refused with a message holding `fragment`. */
async function expectRefused(zip: Buffer, fragment: string): Promise<void> {
  expectErrorMessage(await call(dv, 'POST', 'ImportSolution', importBody(zip)), 400, fragment);
}

test('modes must match, and a package that is not a solution is refused', async () => {
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v1unmanaged))).status).toBe(204);
  // An unmanaged solution takes the same version again.
  expect((await call(dv, 'POST', 'ImportSolution', importBody(zips.v1unmanaged))).status).toBe(204);
  await expectRefused(zips.v2note, 'already installed on this system as an unmanaged solution');
  const notASolution = new JSZip();
  notASolution.file('customizations.xml', '<ImportExportXml />');
  const zipOf = () => notASolution.generateAsync({ type: 'nodebuffer' });
  await expectRefused(await zipOf(), 'A solution holds solution.xml and customizations.xml');
  const manifest = '<SolutionManifest><UniqueName>X</UniqueName></SolutionManifest>';
  notASolution.file('solution.xml', `<ImportExportXml>${manifest}</ImportExportXml>`);
  await expectRefused(
    await zipOf(),
    'solution.xml has no SolutionManifest with UniqueName, Version and Managed',
  );
  await expectRefused(Buffer.from('not a zip'), 'not a valid compressed (zip) file');
  expectErrorMessage(
    await call(dv, 'POST', 'ImportSolution', { CustomizationFile: 'x' }),
    400,
    'OverwriteUnmanagedCustomizations',
  );
}, 30_000);

test('with a SQLite file, the installed solution and its rows come back after a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dv-solutions-'));
  const sqlitePath = path.join(dir, 'dataverse.sqlite');
  try {
    let persisted = await startDataverseEmulator({ withoutSolution: true, sqlitePath });
    expect((await call(persisted, 'POST', 'ImportSolution', importBody(zips.v1))).status).toBe(204);
    expect((await call(persisted, 'POST', 'stc_payments', payment)).status).toBe(204);
    await persisted.close();
    persisted = await startDataverseEmulator({ withoutSolution: true, sqlitePath });
    try {
      const row = await call(persisted, 'GET', "stc_payments(stc_stripeid='pi_1')?$select=stc_amount");
      expect(row.body.stc_amount).toBe(12.5);
      const listed = await call(persisted, 'GET', 'solutions?$select=uniquename,version');
      expect(listed.body.value).toEqual([
        expect.objectContaining({ uniquename: 'StripeConnector', version: '1.0.0.0' }),
      ]);
    } finally {
      await persisted.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
