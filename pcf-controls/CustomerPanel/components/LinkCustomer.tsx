import * as React from 'react';
import { MessageBar, MessageBarType, PrimaryButton, TextField } from '@fluentui/react';
import type { Translate } from '../../shared/strings';
import { errorMessage } from '../../shared/useLoad';
import { STRIPE_CUSTOMER_ID } from './CustomerData';

export interface LinkCustomerProps {
  t: Translate;
  readOnly: boolean;
  onLink: (stripeCustomerId: string) => Promise<void>;
}

/** Dataverse's duplicate alternate key (0x80060892): another record holds this customer id already. */
const DUPLICATE_KEY = [0x80060892, 0x80060892 - 2 ** 32];

function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'number' && DUPLICATE_KEY.includes(code)) return true;
  return /0x80060892/i.test(typeof code === 'string' ? code : errorMessage(error));
}

export function LinkCustomer({ t, readOnly, onLink }: LinkCustomerProps) {
  const [value, setValue] = React.useState('');
  const [error, setError] = React.useState<string>();
  const [failure, setFailure] = React.useState<string>();
  const [saving, setSaving] = React.useState(false);

  const submit = async () => {
    const id = value.trim();
    if (!STRIPE_CUSTOMER_ID.test(id)) {
      setError(t(id ? 'Link_Invalid' : 'Link_Required'));
      return;
    }
    setError(undefined);
    setFailure(undefined);
    setSaving(true);
    try {
      await onLink(id);
    } catch (e) {
      setFailure(isDuplicateKey(e) ? t('Link_Duplicate', id) : t('Link_Failed', errorMessage(e)));
      setSaving(false);
    }
  };

  return (
    <div className="stc-link">
      <p>{t('Customer_NotLinked')}</p>
      {!readOnly && (
        <form
          noValidate
          className="stc-link__form"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          {failure && (
            <MessageBar messageBarType={MessageBarType.error} isMultiline>
              {failure}
            </MessageBar>
          )}
          <TextField
            label={t('Link_Label')}
            placeholder="cus_…"
            value={value}
            onChange={(_event, next) => setValue(next ?? '')}
            errorMessage={error}
            description={t('Link_Hint')}
            autoComplete="off"
            spellCheck={false}
            disabled={saving}
          />
          <PrimaryButton type="submit" text={t('Link_Submit')} disabled={saving} />
        </form>
      )}
    </div>
  );
}
