import { useState } from 'preact/hooks';
import { api, apiError, type ApiError, query, useApi } from '../api.js';
import { BROWSER_TZ, dayBounds, localDate } from '../format.js';
import { navigate } from '../router.js';
import type { Delivery, Destination, ReplayResult } from '../types.js';
import { Copyable, Empty, ErrorNote, Loading, Status, Time } from '../ui.js';

const kindsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((k) => k.trim())
    .filter(Boolean);

/** Shown once, right after it is made: the API never shows it again. */
function SecretNote({ secret, onClose }: { secret: string; onClose: () => void }) {
  return (
    <div class="panel secret" role="status">
      <p>
        <strong>Signing secret</strong>: copy it now, it is not shown again. The receiver verifies <code>webhook-signature</code> with it (Standard Webhooks).
      </p>
      <Copyable text={secret} label="Signing secret" />
      <button type="button" class="secondary" onClick={onClose}>
        Done
      </button>
    </div>
  );
}

function AddForm({ onAdded }: { onAdded: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [kinds, setKinds] = useState('*');
  const [filter, setFilter] = useState({ field: '', op: 'eq', value: '' });
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const body = {
        url: url.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        kinds: kindsOf(kinds),
        ...(filter.field.trim() ? { filters: [{ field: filter.field.trim(), op: filter.op, value: filter.value }] } : {}),
      };
      const created = await api<{ destination: Destination; secret: string }>('/api/destinations', { method: 'POST', json: body });
      setUrl('');
      setDescription('');
      onAdded(created.secret);
    } catch (err) {
      setError(apiError(err));
    }
  };
  return (
    <form class="panel stack" onSubmit={(e) => void submit(e)} aria-labelledby="add-destination">
      <h2 id="add-destination">Add a destination</h2>
      <label>
        URL
        <input name="url" type="url" required placeholder="https://crm.example.com/hooks/calls" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <label>
        Kinds
        <input name="kinds" required value={kinds} onInput={(e) => setKinds(e.currentTarget.value)} aria-describedby="kinds-hint" />
      </label>
      <p class="hint" id="kinds-hint">
        Comma-separated: exact kinds (cdr.inbound.missed), wildcards (cdr.*, alert.*), * for every event, call.updated.
      </p>
      <fieldset class="row">
        <legend>Only when (optional)</legend>
        <label>
          Field
          <input name="filter-field" placeholder="team" value={filter.field} onInput={(e) => setFilter({ ...filter, field: e.currentTarget.value })} />
        </label>
        <label>
          Test
          <select name="filter-op" value={filter.op} onChange={(e) => setFilter({ ...filter, op: e.currentTarget.value })}>
            <option value="eq">equals</option>
            <option value="prefix">starts with</option>
          </select>
        </label>
        <label>
          Value
          <input name="filter-value" value={filter.value} onInput={(e) => setFilter({ ...filter, value: e.currentTarget.value })} />
        </label>
      </fieldset>
      <div class="actions">
        <button type="submit">Add destination</button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function Replay({ destination }: { destination: Destination }) {
  const today = localDate(BROWSER_TZ, Date.now());
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [kinds, setKinds] = useState('');
  const [dryRun, setDryRun] = useState(true);
  const [result, setResult] = useState<ReplayResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const { since, until } = dayBounds(BROWSER_TZ, from, to);
      const only = kindsOf(kinds);
      const body = {
        since,
        // replay cannot reach into the future: today ends now
        until: new Date(Math.min(Date.now(), Date.parse(until))).toISOString(),
        dry_run: dryRun,
        ...(only.length > 0 ? { kinds: only } : {}),
      };
      setResult(await api<ReplayResult>(`/api/destinations/${destination.id}/replay`, { method: 'POST', json: body }));
    } catch (err) {
      setError(apiError(err));
    }
  };
  const id = `replay-${destination.id}`;
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-labelledby={id}>
      <h3 id={id}>Replay</h3>
      <div class="row">
        <label>
          From
          <input type="date" name="from" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="date" name="to" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <label>
          Kinds (optional)
          <input name="kinds" value={kinds} onInput={(e) => setKinds(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" name="dry_run" checked={dryRun} onChange={(e) => setDryRun(e.currentTarget.checked)} />
          Dry run: count only, send nothing
        </label>
      </div>
      <div class="actions">
        <button type="submit">{dryRun ? 'Count' : 'Replay now'}</button>
      </div>
      <ErrorNote error={error} />
      {result ? (
        <p role="status">
          {result.dry_run ? 'Would send' : 'Queued'} {result.count} deliveries
          {Object.keys(result.kinds).length > 0 ? ` (${Object.entries(result.kinds).map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}.
        </p>
      ) : null}
    </form>
  );
}

function Deliveries({ destination }: { destination: Destination }) {
  const [status, setStatus] = useState('');
  const list = useApi<{ items: Delivery[]; next: string | null }>(`/api/deliveries${query({ destination: destination.id, status, limit: 20 })}`);
  const [error, setError] = useState<ApiError | null>(null);
  const retry = async (d: Delivery) => {
    try {
      await api(`/api/deliveries/${d.id}/retry`, { method: 'POST' });
      list.reload();
    } catch (err) {
      setError(apiError(err));
    }
  };
  return (
    <div>
      <div class="row">
        <h3>Deliveries</h3>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="succeeded">succeeded</option>
            <option value="dead">dead</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <ErrorNote error={list.error ?? error} />
      {list.data && list.data.items.length === 0 ? <Empty>No delivery.</Empty> : null}
      {list.data && list.data.items.length > 0 ? (
        <div class="table-scroll">
          <table class="list" aria-label={`Deliveries to ${destination.url}`}>
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Time iso={d.created_at} />
                  </td>
                  <td>
                    {d.kind}
                    {d.replay ? <span class="muted"> (replay)</span> : null}
                  </td>
                  <td>
                    <Status value={d.state} />
                  </td>
                  <td class="num">{d.attempts}</td>
                  <td>{d.last_status ?? d.last_error ?? '—'}</td>
                  <td>
                    {d.state !== 'succeeded' ? (
                      <button type="button" class="secondary" onClick={() => void retry(d)}>
                        Retry now
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

export function DestinationsPage({ params }: { params: URLSearchParams }) {
  const list = useApi<{ items: Destination[] }>('/api/destinations');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const open = params.get('open');

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      list.reload();
    } catch (err) {
      setError(apiError(err));
    }
  };
  const setState = (d: Destination, state: 'active' | 'paused') => act(() => api(`/api/destinations/${d.id}`, { method: 'PATCH', json: { state } }));
  const rotate = (d: Destination) =>
    act(async () => {
      const r = await api<{ secret: string }>(`/api/destinations/${d.id}/rotate-secret`, { method: 'POST', json: { overlap_sec: 86_400 } });
      setSecret(r.secret);
    });
  const remove = (d: Destination) => {
    if (confirm(`Remove ${d.url} with all its deliveries?`)) void act(() => api(`/api/destinations/${d.id}`, { method: 'DELETE' }));
  };

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Destinations</h1>
      </div>
      <p class="muted">Every event, call change or alert of the chosen kinds goes to each destination, signed, retried and in order per call.</p>
      {secret ? <SecretNote secret={secret} onClose={() => setSecret(null)} /> : null}
      <ErrorNote error={list.error ?? error} />
      <Loading when={list.loading && !list.data} />
      {list.data && list.data.items.length === 0 ? <Empty>No destination yet.</Empty> : null}
      <ul class="cards">
        {list.data?.items.map((d) => (
          <li key={d.id} class="panel" data-destination={d.id}>
            <div class="row spread">
              <div>
                <h2 class="url">{d.url}</h2>
                {d.description ? <p>{d.description}</p> : null}
              </div>
              <Status value={d.state} />
            </div>
            <p>
              Kinds: <code>{d.kinds.join(', ')}</code>
              {d.filters.length > 0 ? (
                <>
                  {' '}
                  · only when{' '}
                  {d.filters.map((f) => (
                    <code key={f.field}>
                      {f.field} {f.op === 'eq' ? '=' : 'starts with'} {f.value}
                    </code>
                  ))}
                </>
              ) : null}
              {d.rate_limit ? ` · at most ${d.rate_limit}/s` : ''}
            </p>
            {d.disabled_reason ? <p class="error">Disabled: {d.disabled_reason}</p> : null}
            {d.previous_secret_expires_at ? (
              <p class="muted">
                The previous secret also signs until <Time iso={d.previous_secret_expires_at} />.
              </p>
            ) : null}
            <div class="actions">
              {d.state === 'active' ? (
                <button type="button" class="secondary" onClick={() => void setState(d, 'paused')}>
                  Pause
                </button>
              ) : (
                <button type="button" class="secondary" onClick={() => void setState(d, 'active')}>
                  {d.state === 'disabled' ? 'Enable' : 'Resume'}
                </button>
              )}
              <button type="button" class="secondary" onClick={() => void rotate(d)}>
                Rotate secret
              </button>
              <button type="button" class="secondary" aria-expanded={open === d.id} onClick={() => navigate('destinations', { open: open === d.id ? undefined : d.id })}>
                {open === d.id ? 'Hide deliveries' : 'Deliveries and replay'}
              </button>
              <button type="button" class="danger" onClick={() => remove(d)}>
                Remove
              </button>
            </div>
            {open === d.id ? (
              <>
                <Deliveries destination={d} />
                <Replay destination={d} />
              </>
            ) : null}
          </li>
        ))}
      </ul>
      <AddForm
        onAdded={(s) => {
          setSecret(s);
          list.reload();
        }}
      />
    </section>
  );
}
