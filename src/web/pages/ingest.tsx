import { useEffect } from 'preact/hooks';
import { query, useApi } from '../api.js';
import { navigate } from '../router.js';
import type { Info, Page, StoredRequest } from '../types.js';
import { Copyable, Empty, ErrorNote, Loading, Raw, Status, Time } from '../ui.js';

type EventRow = { id: string; kind: string; received_at: string };
const OUTCOMES = ['all', 'accepted', 'duplicate', 'rejected'] as const;

export function IngestPage({ params }: { params: URLSearchParams }) {
  const outcome = OUTCOMES.find((o) => o === params.get('outcome')) ?? 'all';
  const info = useApi<Info>('/api/info');
  const last = useApi<Page<EventRow>>('/api/events?limit=1');
  const requests = useApi<Page<StoredRequest>>(`/api/requests${query({ outcome: outcome === 'all' ? undefined : outcome, limit: 50 })}`);

  // a page for watching: it reads again every 10 seconds
  useEffect(() => {
    const t = setInterval(() => {
      last.reload();
      requests.reload();
    }, 10_000);
    return () => clearInterval(t);
  }, [outcome]);

  const lastEvent = last.data?.items[0];
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Ingest</h1>
      </div>
      <ErrorNote error={info.error ?? requests.error} />
      <div class="panel">
        <h2>Webhook URL</h2>
        {info.data ? (
          <>
            <p>Paste it into the TeleCMI dashboard under SETTINGS › WEBHOOKS (method POST or GET), for CDRs and live events.</p>
            <Copyable text={info.data.webhook_url} label="Webhook URL" />
            {info.data.webhook_url_configured ? null : <p class="hint">Made from the address this page was opened at; set CALLHOOK_PUBLIC_URL to the address the platform reaches.</p>}
          </>
        ) : (
          <Loading when={info.loading} />
        )}
        <p id="last-event">
          Last event received:{' '}
          {lastEvent ? (
            <>
              <Time iso={lastEvent.received_at} /> ({lastEvent.kind})
            </>
          ) : last.data ? (
            'none yet'
          ) : (
            '…'
          )}
        </p>
      </div>

      <h2>Recent requests</h2>
      <fieldset class="segmented">
        <legend>Outcome</legend>
        {OUTCOMES.map((o) => (
          <label key={o}>
            <input type="radio" name="outcome" value={o} checked={outcome === o} onChange={() => navigate('ingest', { outcome: o === 'all' ? undefined : o })} />
            {o === 'duplicate' ? 'redeliveries' : o}
          </label>
        ))}
      </fieldset>
      <Loading when={requests.loading && !requests.data} />
      {requests.data && requests.data.items.length === 0 ? <Empty>No request yet.</Empty> : null}
      {requests.data && requests.data.items.length > 0 ? (
        <ol class="requests">
          {requests.data.items.map((r) => (
            <li key={r.id} data-request={r.id} class={`request request-${r.outcome}`}>
              <details>
                <summary>
                  <Time iso={r.received_at} /> <Status value={r.outcome === 'duplicate' ? 'redelivery' : r.outcome} /> <code>{r.method}</code> <code>{r.path}</code>{' '}
                  <span>{r.kind ?? ''}</span> <span class="muted">→ {r.status_code}</span>
                  {r.error ? (
                    <span class="reason">
                      {' '}
                      {r.error.code}: {r.error.message}
                    </span>
                  ) : null}
                </summary>
                <p class="muted">
                  From {r.remote_addr} · {r.content_type ?? 'no content type'} · {r.body_size} bytes{r.event_id ? ` · event ${r.event_id}` : ''}
                </p>
                {r.query ? (
                  <>
                    <h3>Query</h3>
                    <Raw value={r.query} />
                  </>
                ) : null}
                <h3>Body</h3>
                {r.body !== null ? <Raw value={r.body} /> : r.body_base64 !== null ? <Raw value={`(not UTF-8; base64) ${r.body_base64}`} /> : <p class="muted">empty</p>}
              </details>
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}
