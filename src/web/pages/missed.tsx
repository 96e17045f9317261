import { useEffect, useRef, useState } from 'preact/hooks';
import { api, apiError, type ApiError, query, useApi } from '../api.js';
import { formatDuration } from '../format.js';
import { navigate } from '../router.js';
import type { MissedItem, Page } from '../types.js';
import { Empty, ErrorNote, Loading, Time } from '../ui.js';

function ResolveForm({ item, onDone }: { item: MissedItem; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const noteField = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (open) noteField.current?.focus();
  }, [open]);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} aria-label={`Resolve ${item.number}`}>
        Resolve…
      </button>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api(`/api/missed/${encodeURIComponent(item.id)}/resolve`, { method: 'POST', json: note.trim() ? { note: note.trim() } : {} });
      onDone();
    } catch (err) {
      setError(apiError(err));
    }
  };
  const noteId = `note-${item.id}`;
  return (
    <form class="inline" onSubmit={(e) => void submit(e)}>
      <label for={noteId}>Note (optional)</label>
      <textarea id={noteId} rows={2} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} ref={noteField} />
      <div class="actions">
        <button type="submit">Mark resolved</button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

export function MissedPage({ params }: { params: URLSearchParams }) {
  const state = params.get('state') === 'resolved' ? 'resolved' : 'open';
  const team = params.get('team') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const items = useApi<Page<MissedItem>>(`/api/missed${query({ state, team, cursor, limit: 50 })}`);
  const [teamDraft, setTeamDraft] = useState(team);

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Missed calls to call back</h1>
      </div>
      <form
        class="filters"
        aria-label="Filter the callback queue"
        onSubmit={(e) => {
          e.preventDefault();
          navigate('missed', { state, team: teamDraft });
        }}
      >
        <fieldset class="segmented">
          <legend>Show</legend>
          {(['open', 'resolved'] as const).map((s) => (
            <label key={s}>
              <input type="radio" name="state" value={s} checked={state === s} onChange={() => navigate('missed', { state: s, team })} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Team
          <input name="team" value={teamDraft} onInput={(e) => setTeamDraft(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      <p class="muted">Most urgent first: the most missed attempts, then the oldest. An answered call with the number, either way, resolves an item by itself.</p>
      <ErrorNote error={items.error} />
      <Loading when={items.loading && !items.data} />
      {items.data && items.data.items.length === 0 ? <Empty>{state === 'open' ? 'Nobody is waiting for a callback.' : 'Nothing resolved yet.'}</Empty> : null}
      {items.data && items.data.items.length > 0 ? (
        <table class="list" aria-label="Callback queue">
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col" class="num">Attempts</th>
              <th scope="col">First missed</th>
              <th scope="col">Last missed</th>
              <th scope="col">Team</th>
              <th scope="col">IVR</th>
              <th scope="col">Voicemail</th>
              <th scope="col">{state === 'open' ? 'Action' : 'Resolved'}</th>
            </tr>
          </thead>
          <tbody>
            {items.data.items.map((item) => (
              <tr key={item.id} data-item={item.id}>
                <td>
                  <a href={`#/calls?number=${encodeURIComponent(item.number)}`}>{item.number}</a>
                </td>
                <td class="num">{item.attempts}</td>
                <td>
                  <Time iso={item.first_missed_at} />
                </td>
                <td>
                  <Time iso={item.last_missed_at} />
                </td>
                <td>{item.team ?? '—'}</td>
                <td>{item.ivr_name ?? '—'}</td>
                <td>{item.voicemail ? <code>{item.voicemail}</code> : '—'}</td>
                <td>
                  {item.state === 'open' ? (
                    <ResolveForm item={item} onDone={items.reload} />
                  ) : (
                    <span>
                      {item.resolved_by?.replace(/_/g, ' ')} after {formatDuration(item.time_to_callback_sec)}
                      {item.note ? <span class="note"> · {item.note}</span> : null}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {items.data?.next_cursor ? (
        <nav class="pager" aria-label="More items">
          <button type="button" class="secondary" onClick={() => navigate('missed', { state, team, cursor: items.data?.next_cursor ?? undefined })}>
            More
          </button>
        </nav>
      ) : null}
    </section>
  );
}
