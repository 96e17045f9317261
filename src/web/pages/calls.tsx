import { useState } from 'preact/hooks';
import { query, useApi } from '../api.js';
import { BROWSER_TZ, dayBounds, formatDuration } from '../format.js';
import { navigate } from '../router.js';
import type { Call, Page } from '../types.js';
import { Empty, ErrorNote, Loading, Status, Time } from '../ui.js';

const FILTERS = ['number', 'direction', 'status', 'team', 'agent', 'since', 'until', 'has_recording', 'voicemail'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const STATUSES = ['answered', 'missed', 'waiting', 'ringing', 'in_progress', 'ended'];
const WITH_WITHOUT = [['true', 'with'], ['false', 'without']];

/** A select whose first choice, "any", leaves the filter out. */
function Choice({ label, name, value, onChange, options }: { label: string; name: string; value: string | undefined; onChange: (e: Event) => void; options: string[][] }) {
  return (
    <label>
      {label}
      <select name={name} value={value ?? ''} onChange={onChange}>
        <option value="">any</option>
        {options.map(([v = '', text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function filtersOf(params: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** The API's filters: dates picked in the browser's zone become instants; `until` takes the whole day. */
function apiFilters(f: Filters): Record<string, string | undefined> {
  return {
    ...f,
    since: f.since ? dayBounds(BROWSER_TZ, f.since, f.since).since : undefined,
    until: f.until ? dayBounds(BROWSER_TZ, f.until, f.until).until : undefined,
  };
}

export function CallsPage({ params }: { params: URLSearchParams }) {
  const filters = filtersOf(params);
  const cursor = params.get('cursor') ?? undefined;
  // the cursors of the pages before this one, for Newer
  const [previous, setPrevious] = useState<(string | undefined)[]>([]);
  const calls = useApi<Page<Call>>(`/api/calls${query({ ...apiFilters(filters), cursor, limit: 50 })}`);
  const [draft, setDraft] = useState<Filters>(filters);

  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const apply = (e: Event) => {
    e.preventDefault();
    setPrevious([]);
    navigate('calls', { ...draft, number: draft.number?.replace(/\D/g, '') });
  };
  const clear = () => {
    setDraft({});
    setPrevious([]);
    navigate('calls');
  };
  const exportHref = `/api/calls/export${query({ ...apiFilters(filters), format: 'csv', tz: BROWSER_TZ })}`;

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Calls</h1>
        <a class="button secondary" href={exportHref} download="calls.csv">
          Export CSV
        </a>
      </div>
      <form class="filters" onSubmit={apply} aria-label="Filter calls">
        <label>
          Number
          <input name="number" type="search" inputMode="numeric" placeholder="digits, from or to" value={draft.number ?? ''} onInput={set('number')} />
        </label>
        <Choice label="Direction" name="direction" value={draft.direction} onChange={set('direction')} options={[['inbound', 'inbound'], ['outbound', 'outbound']]} />
        <Choice label="Status" name="status" value={draft.status} onChange={set('status')} options={STATUSES.map((s) => [s, s.replace('_', ' ')])} />
        <label>
          Team
          <input name="team" value={draft.team ?? ''} onInput={set('team')} />
        </label>
        <label>
          Agent
          <input name="agent" value={draft.agent ?? ''} onInput={set('agent')} />
        </label>
        <label>
          From
          <input name="since" type="date" value={draft.since ?? ''} onInput={set('since')} />
        </label>
        <label>
          To
          <input name="until" type="date" value={draft.until ?? ''} onInput={set('until')} />
        </label>
        <Choice label="Recording" name="has_recording" value={draft.has_recording} onChange={set('has_recording')} options={WITH_WITHOUT} />
        <Choice label="Voicemail" name="voicemail" value={draft.voicemail} onChange={set('voicemail')} options={WITH_WITHOUT} />
        <div class="actions">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      <ErrorNote error={calls.error} />
      <Loading when={calls.loading && !calls.data} />
      {calls.data && calls.data.items.length === 0 ? <Empty>No call matches these filters.</Empty> : null}
      {calls.data && calls.data.items.length > 0 ? (
        <table class="list" aria-label="Calls" aria-busy={calls.loading}>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Direction</th>
              <th scope="col">Status</th>
              <th scope="col">Agent</th>
              <th scope="col">Team</th>
              <th scope="col" class="num">Wait</th>
              <th scope="col" class="num">Talk</th>
            </tr>
          </thead>
          <tbody>
            {calls.data.items.map((c) => (
              <tr key={c.id} data-call={c.id}>
                <td>
                  <a href={`#/calls/${encodeURIComponent(c.id)}`}>
                    <Time iso={c.started_at} />
                  </a>
                </td>
                <td>{c.from ?? '—'}</td>
                <td>{c.to ?? '—'}</td>
                <td>{c.direction ?? '—'}</td>
                <td>
                  <Status value={c.status} />
                </td>
                <td>{c.agent ?? '—'}</td>
                <td>{c.team ?? '—'}</td>
                <td class="num">{formatDuration(c.wait_sec)}</td>
                <td class="num">{formatDuration(c.talk_sec)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav class="pager" aria-label="Pages of calls">
        <button
          type="button"
          class="secondary"
          disabled={cursor === undefined}
          onClick={() => {
            setPrevious(previous.slice(0, -1));
            navigate('calls', { ...filters, cursor: previous[previous.length - 1] });
          }}
        >
          Newer
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!calls.data?.next_cursor}
          onClick={() => {
            setPrevious([...previous, cursor]);
            navigate('calls', { ...filters, cursor: calls.data?.next_cursor ?? undefined });
          }}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
