/** Sign-in: the admin key (a session cookie is set), or Microsoft Entra ID where the service has it configured. */
import * as React from 'react';
import { Link, PrimaryButton, Stack, Text, TextField } from '@fluentui/react';
import { api } from '../api';
import { ErrorBar, PageHeading } from '../ui';

export function SignIn(props: {
  entraSignIn: boolean;
  reason: string | null;
  onSignedIn: () => void;
}): JSX.Element {
  const [adminKey, setAdminKey] = React.useState('');
  const [error, setError] = React.useState<unknown>(null);
  const [busy, setBusy] = React.useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signIn(adminKey);
      setAdminKey('');
      props.onSignedIn();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack tokens={{ childrenGap: 16 }} style={{ maxWidth: 420 }}>
      <PageHeading>Sign in</PageHeading>
      <Text>
        The connector console shows what the service receives and writes, and lets you retry dead letters.
      </Text>
      {props.reason && !error && <ErrorBar error={new Error(props.reason)} />}
      <ErrorBar error={error} />
      <form onSubmit={submit} aria-label="Sign in with the admin key">
        <Stack tokens={{ childrenGap: 12 }}>
          <TextField
            label="Admin key"
            type="password"
            canRevealPassword
            revealPasswordAriaLabel="Show the admin key"
            autoComplete="current-password"
            required
            value={adminKey}
            onChange={(_, value) => setAdminKey(value ?? '')}
            description="The service's ADMIN_API_KEY."
          />
          <PrimaryButton type="submit" text={busy ? 'Signing in…' : 'Sign in'} disabled={busy || !adminKey} />
        </Stack>
      </form>
      {props.entraSignIn && <Link href="/console/signin/entra">Sign in with Microsoft Entra ID</Link>}
    </Stack>
  );
}
