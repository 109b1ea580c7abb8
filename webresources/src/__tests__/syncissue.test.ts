import { XrmMockGenerator } from 'xrm-mock';
import { build } from 'esbuild';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { SyncIssue, SyncIssueStatus } from '@stc/solution/tables';
import * as SyncIssueForm from '../forms/syncissue';

const ISSUE_ID = '1c2d3e4f-0000-4000-8000-00000000aa01';

function issueForm(id: string) {
  XrmMockGenerator.initialise({
    entity: { entityName: SyncIssue.logicalName, id: id ? `{${id.toUpperCase()}}` : '' },
  });
  const formContext = XrmMockGenerator.getFormContext();
  if (!id) jest.spyOn(formContext.data.entity, 'getId').mockReturnValue('');
  const refresh = jest.spyOn(formContext.data, 'refresh').mockResolvedValue(undefined as never);
  jest
    .spyOn(Xrm.Utility, 'getGlobalContext')
    .mockReturnValue({ userSettings: { languageId: 1031 } } as unknown as Xrm.GlobalContext);
  return {
    formContext: formContext as unknown as Xrm.FormContext,
    refresh,
    updateRecord: jest
      .spyOn(Xrm.WebApi, 'updateRecord')
      .mockResolvedValue({ id: '', entityType: SyncIssue.logicalName }),
    confirm: jest.spyOn(Xrm.Navigation, 'openConfirmDialog'),
    alert: jest.spyOn(Xrm.Navigation, 'openAlertDialog').mockResolvedValue(undefined as never),
    notifications: () =>
      (formContext.ui as unknown as { formNotifications?: Array<{ message: string }> }).formNotifications ??
      [],
  };
}

afterEach(() => jest.restoreAllMocks());

describe('Retry and Discard on sync issues', () => {
  it("asks for a retry by setting the issue's status, after the user confirms, and reloads the form", async () => {
    const f = issueForm(ISSUE_ID);
    f.confirm.mockResolvedValue({ confirmed: true });
    await expect(SyncIssueForm.requestRetry(f.formContext)).resolves.toBe(1);
    expect(f.updateRecord).toHaveBeenCalledWith(SyncIssue.logicalName, ISSUE_ID, {
      [SyncIssue.col.status]: SyncIssueStatus.retry_requested,
    });
    expect(f.confirm.mock.calls[0][0]).toMatchObject({ title: 'Wiederholen' });
    expect(f.notifications()[0]?.message).toMatch(/^Für 1 Synchronisierungsproblem\(e\) angefordert/);
    expect(f.refresh).toHaveBeenCalledWith(false);
  });

  it('changes nothing when the user cancels', async () => {
    const f = issueForm(ISSUE_ID);
    f.confirm.mockResolvedValue({ confirmed: false });
    await expect(SyncIssueForm.requestDiscard(f.formContext)).resolves.toBe(0);
    expect(f.updateRecord).not.toHaveBeenCalled();
  });

  it('asks for a discard on every issue selected in the list, ids as the grid passes them', async () => {
    const f = issueForm(ISSUE_ID);
    f.confirm.mockResolvedValue({ confirmed: true });
    const ids = ['{1C2D3E4F-0000-4000-8000-00000000AA01}', '{1C2D3E4F-0000-4000-8000-00000000AA02}'];
    await expect(SyncIssueForm.requestDiscardSelected(ids)).resolves.toBe(2);
    expect(f.updateRecord.mock.calls.map((call) => [call[1], call[2]])).toEqual([
      ['1c2d3e4f-0000-4000-8000-00000000aa01', { [SyncIssue.col.status]: SyncIssueStatus.discard_requested }],
      ['1c2d3e4f-0000-4000-8000-00000000aa02', { [SyncIssue.col.status]: SyncIssueStatus.discard_requested }],
    ]);
    expect(f.confirm.mock.calls[0][0].text).toMatch(/^2 Synchronisierungsproblem\(e\) verwerfen\?/);
  });

  it('says why when Dataverse refuses the change', async () => {
    const f = issueForm(ISSUE_ID);
    f.confirm.mockResolvedValue({ confirmed: true });
    f.updateRecord.mockRejectedValue({
      message: 'Principal user is missing prvWritestc_syncissue privilege',
    });
    await expect(SyncIssueForm.requestRetrySelected([ISSUE_ID])).resolves.toBe(0);
    expect(f.alert.mock.calls[0][0]).toEqual({
      text: 'Die Anfrage konnte nicht gespeichert werden: Principal user is missing prvWritestc_syncissue privilege',
    });
  });

  it('syncissue.js publishes StripeConnector.Forms.SyncIssue with its four commands', async () => {
    const result = await build({
      entryPoints: [join(__dirname, '..', 'forms', 'syncissue.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'StripeConnector.Forms.SyncIssue',
      platform: 'browser',
      logLevel: 'silent',
    });
    const sandbox: Record<string, unknown> = {};
    runInNewContext(result.outputFiles[0].text, sandbox);
    const published = (sandbox.StripeConnector as { Forms: Record<string, Record<string, unknown>> }).Forms
      .SyncIssue;
    expect(Object.keys(published).sort()).toEqual([
      'requestDiscard',
      'requestDiscardSelected',
      'requestRetry',
      'requestRetrySelected',
    ]);
  });
});
