import { useEffect } from 'preact/hooks';
import { query, useApi } from '../api.js';
import { navigate } from '../router.js';
import { onStream } from '../stream.js';
import type { Alert } from '../types.js';
import { Empty, ErrorNote, Loading, Status, Time } from '../ui.js';

const STATES = ['all', 'firing', 'cleared'] as const;

export function AlertsPage({ params }: { params: URLSearchParams }) {
  const state = STATES.find((s) => s === params.get('state')) ?? 'all';
  const alerts = useApi<{ items: Alert[] }>(`/api/alerts${query({ state: state === 'all' ? undefined : state })}`);
  // a firing or a clearing arrives on the stream: read the list again
  useEffect(() => onStream('alert', () => alerts.reload()), []);

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Alerts</h1>
      </div>
      <p class="muted">Rules are set in the configuration (CALLHOOK_ALERT_…). Each firing and clearing is listed here and can be forwarded as alert.&lt;rule&gt;.</p>
      <fieldset class="segmented">
        <legend>Show</legend>
        {STATES.map((s) => (
          <label key={s}>
            <input type="radio" name="state" value={s} checked={state === s} onChange={() => navigate('alerts', { state: s === 'all' ? undefined : s })} />
            {s}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={alerts.error} />
      <Loading when={alerts.loading && !alerts.data} />
      {alerts.data && alerts.data.items.length === 0 ? <Empty>No alert.</Empty> : null}
      {alerts.data && alerts.data.items.length > 0 ? (
        <table class="list" aria-label="Alerts">
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Rule</th>
              <th scope="col">Message</th>
              <th scope="col">Value / threshold</th>
              <th scope="col">Fired</th>
              <th scope="col">Cleared</th>
            </tr>
          </thead>
          <tbody>
            {alerts.data.items.map((a) => (
              <tr key={a.id}>
                <td>
                  <Status value={a.state} />
                </td>
                <td>{a.rule.replace(/_/g, ' ')}</td>
                <td>{a.message}</td>
                <td>
                  {a.value ?? '—'} / {a.threshold ?? '—'}
                </td>
                <td>
                  <Time iso={a.fired_at} />
                </td>
                <td>
                  <Time iso={a.cleared_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
