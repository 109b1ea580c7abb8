/**
 * The console's frame: a skip link, the header with who is signed in, the navigation, and the page the address
 * names. Until `GET /console/api/me` answers with a session, the sign-in page is shown instead.
 */
import * as React from 'react';
import { DefaultButton, Link, Text, getTheme, mergeStyleSets } from '@fluentui/react';
import type { Me } from '@stc/service/src/console/contract';
import { ApiFailure, api, whenSignedOut } from './api';
import { NAVIGATION, parseRoute, section, type Route } from './routes';
import { ErrorBar, Loading, PageHeading } from './ui';
import { SignIn } from './pages/SignIn';
import { OverviewPage } from './pages/OverviewPage';
import { EventsPage } from './pages/EventsPage';
import { LineagePage } from './pages/LineagePage';
import { DeadLettersPage } from './pages/DeadLettersPage';
import { PayoutPage, PayoutsPage } from './pages/PayoutsPage';
import { SettingsPage } from './pages/SettingsPage';
import { StudioPage } from './pages/StudioPage';

const theme = getTheme();
const styles = mergeStyleSets({
  skip: {
    position: 'absolute',
    left: 8,
    top: -48,
    padding: '8px 12px',
    background: theme.palette.white,
    zIndex: 10,
    selectors: { ':focus': { top: 8 } },
  },
  header: {
    display: 'flex',
    alignItems: 'center',
    justifyContent: 'space-between',
    gap: 16,
    padding: '8px 24px',
    background: theme.palette.themeDarker,
    color: theme.palette.white,
  },
  nav: {
    borderBottom: `1px solid ${theme.palette.neutralLight}`,
    padding: '0 24px',
    selectors: {
      ul: { display: 'flex', flexWrap: 'wrap', gap: 24, listStyle: 'none', margin: 0, padding: 0 },
      a: { display: 'inline-block', padding: '12px 0' },
      'a[aria-current="page"]': { fontWeight: 600, borderBottom: `2px solid ${theme.palette.themePrimary}` },
    },
  },
  main: { padding: '8px 24px 48px', maxWidth: 1400, outline: 'none' },
});

function useHashRoute(): Route {
  const [route, setRoute] = React.useState(() => parseRoute(window.location.hash));
  React.useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function Page({ route }: { route: Route }): JSX.Element {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'events':
      return <EventsPage query={route.query} />;
    case 'event':
      return <LineagePage key={route.id} id={route.id} />;
    case 'dead-letters':
      return <DeadLettersPage query={route.query} />;
    case 'payouts':
      return <PayoutsPage query={route.query} />;
    case 'payout':
      return <PayoutPage key={route.id} id={route.id} />;
    case 'settings':
      return <SettingsPage />;
    case 'studio':
      return <StudioPage />;
    case 'not-found':
      return (
        <>
          <PageHeading>Page not found</PageHeading>
          <Text>The console has no page at {route.path}. Choose a page above.</Text>
        </>
      );
  }
}

/** Why the session ended: the service's reason for an Entra ID session it ended, else a general line. */
function endedReason(failure: ApiFailure): string {
  return failure.code === 'session_ended' ? failure.message : 'Your session has ended. Sign in again.';
}

/**
 * Signs out; an Entra ID session then goes to Entra ID's end-session endpoint, which comes back to the sign-in
 * page (`replace` leaves no signed-in page in the history for the back button to return to).
 */
async function signOut(check: () => Promise<void>): Promise<void> {
  const out = await api.signOut().catch(() => undefined);
  if (out?.signOutUrl) window.location.replace(out.signOutUrl);
  else await check();
}

type Session =
  | { state: 'checking' }
  | { state: 'signed-out'; entraSignIn: boolean; reason: string | null; error: unknown }
  | { state: 'signed-in'; me: Me };

export function App(): JSX.Element {
  const route = useHashRoute();
  const [session, setSession] = React.useState<Session>({ state: 'checking' });
  const main = React.useRef<HTMLElement>(null);

  const check = React.useCallback(async (reason: string | null = null) => {
    try {
      setSession({ state: 'signed-in', me: await api.me() });
    } catch (failure) {
      const unauthorized = failure instanceof ApiFailure && failure.status === 401;
      // An Entra ID session the service ended (role removed, refresh refused) says why.
      const ended =
        failure instanceof ApiFailure && failure.code === 'session_ended' ? failure.message : null;
      setSession({
        state: 'signed-out',
        entraSignIn: failure instanceof ApiFailure && failure.body?.entraSignIn === true,
        reason: ended ?? reason,
        error: unauthorized ? null : failure,
      });
    }
  }, []);
  React.useEffect(() => {
    void check();
    whenSignedOut((failure) => void check(endedReason(failure)));
  }, [check]);

  const skip = (event: React.MouseEvent) => {
    event.preventDefault();
    main.current?.focus();
  };
  const signedIn = session.state === 'signed-in';

  return (
    <>
      <a className={styles.skip} href="#main" onClick={skip}>
        Skip to main content
      </a>
      <header className={styles.header}>
        <Text variant="large" style={{ color: 'inherit', fontWeight: 600 }}>
          Stripe connector console
        </Text>
        {signedIn && (
          <span style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
            <Text style={{ color: 'inherit' }}>Signed in as {session.me.name}</Text>
            <DefaultButton text="Sign out" onClick={() => void signOut(check)} />
          </span>
        )}
      </header>
      {signedIn && (
        <nav className={styles.nav} aria-label="Console pages">
          <ul>
            {NAVIGATION.map((entry) => (
              <li key={entry.page}>
                <Link href={entry.href} aria-current={section(route) === entry.page ? 'page' : undefined}>
                  {entry.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" ref={main} tabIndex={-1} className={styles.main}>
        {session.state === 'checking' && <Loading label="Checking your session…" />}
        {session.state === 'signed-out' && (
          <>
            <ErrorBar error={session.error} />
            <SignIn
              entraSignIn={session.entraSignIn}
              reason={session.reason}
              onSignedIn={() => void check()}
            />
          </>
        )}
        {signedIn && <Page route={route} />}
      </main>
    </>
  );
}
