import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, SIGNED_OUT } from './api.js';
import { currentRoute, type Route } from './router.js';
import { startStream, stopStream } from './stream.js';
import { AlertsPage } from './pages/alerts.js';
import { CallPage } from './pages/call.js';
import { CallsPage } from './pages/calls.js';
import { DestinationsPage } from './pages/destinations.js';
import { IngestPage } from './pages/ingest.js';
import { LivePage } from './pages/live.js';
import { MissedPage } from './pages/missed.js';
import { SignInPage } from './pages/sign-in.js';
import { StatsPage } from './pages/stats.js';
import './style.css';

const PAGES = [
  { path: 'live', title: 'Live' },
  { path: 'calls', title: 'Calls' },
  { path: 'missed', title: 'Missed' },
  { path: 'stats', title: 'Stats' },
  { path: 'ingest', title: 'Ingest' },
  { path: 'destinations', title: 'Destinations' },
  { path: 'alerts', title: 'Alerts' },
] as const;

function Page({ route }: { route: Route }) {
  const [first, second] = route.parts;
  switch (first) {
    case 'live':
      return <LivePage />;
    case 'calls':
      return second ? <CallPage id={second} /> : <CallsPage params={route.params} />;
    case 'missed':
      return <MissedPage params={route.params} />;
    case 'stats':
      return <StatsPage params={route.params} />;
    case 'ingest':
      return <IngestPage params={route.params} />;
    case 'destinations':
      return <DestinationsPage params={route.params} />;
    case 'alerts':
      return <AlertsPage params={route.params} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page #{route.parts.join('/')}. <a href="#/live">Go to Live</a>.
          </p>
        </section>
      );
  }
}

function App() {
  const [signedIn, setSignedIn] = useState<boolean | null>(null);
  const [route, setRoute] = useState(currentRoute);

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    const onSignedOut = () => setSignedIn(false);
    window.addEventListener('hashchange', onHash);
    window.addEventListener(SIGNED_OUT, onSignedOut);
    api<{ signed_in: boolean }>('/api/session').then(
      (s) => setSignedIn(s.signed_in),
      () => setSignedIn(false),
    );
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener(SIGNED_OUT, onSignedOut);
    };
  }, []);

  useEffect(() => {
    if (signedIn) startStream();
    else stopStream();
  }, [signedIn]);

  const title = PAGES.find((p) => p.path === route.parts[0])?.title;
  useEffect(() => {
    document.title = title ? `${title} · callhook` : 'callhook';
    // after a page change, focus goes to the new page's heading for keyboard and screen-reader users
    if (signedIn) document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [title, route.parts[1], signedIn]);

  if (signedIn === null) return <p class="muted center">Loading…</p>;
  if (!signedIn) return <SignInPage onSignedIn={() => setSignedIn(true)} />;

  const signOut = async () => {
    await api('/api/session', { method: 'DELETE' }).catch(() => undefined);
    setSignedIn(false);
  };

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">callhook</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={route.parts[0] === p.path ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="link sign-out" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
