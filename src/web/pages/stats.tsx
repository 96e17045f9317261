import { useState } from 'preact/hooks';
import { query, useApi } from '../api.js';
import { HeatmapGrid, SlotChart } from '../charts.js';
import { dayBounds, formatDuration, formatNumber, formatPercent, localDate, nextDate } from '../format.js';
import { navigate } from '../router.js';
import type { Figures, Heatmap, Info, Stats } from '../types.js';
import { ErrorNote, Figure, Loading } from '../ui.js';

const ZONES: string[] = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];

type Column = { key: keyof Figures; label: string; show: (f: Figures) => string };
const pct = (k: keyof Figures, label: string): Column => ({ key: k, label, show: (f) => formatPercent(f[k] as number | null) });
const num = (k: keyof Figures, label: string): Column => ({ key: k, label, show: (f) => formatNumber(f[k] as number | null) });
const dur = (k: keyof Figures, label: string): Column => ({ key: k, label, show: (f) => formatDuration(f[k] as number | null) });

const HEADLINE: Column[] = [
  num('offered', 'Offered'),
  num('answered', 'Answered'),
  num('missed', 'Missed'),
  pct('answer_rate', 'Answer rate'),
  pct('service_level', 'Service level'),
  dur('avg_speed_of_answer_sec', 'Avg speed of answer'),
  dur('avg_wait_sec', 'Avg wait'),
  dur('longest_wait_sec', 'Longest wait'),
  num('abandoned', 'Abandoned'),
  pct('abandon_rate', 'Abandon rate'),
  num('short_abandoned', 'Short abandons'),
  dur('avg_talk_sec', 'Avg talk'),
  num('voicemails', 'Voicemails'),
  num('outbound_attempts', 'Outbound attempts'),
  pct('outbound_answer_rate', 'Outbound answer rate'),
  num('repeat_callers', 'Repeat callers'),
  num('peak_concurrent', 'Peak concurrent'),
  pct('callback_rate', 'Callback rate'),
  dur('avg_time_to_callback_sec', 'Avg time to callback'),
  { key: 'cost', label: 'Cost', show: (f) => f.cost },
];

const TEAM_COLUMNS: Column[] = [num('offered', 'Offered'), num('answered', 'Answered'), num('missed', 'Missed'), pct('answer_rate', 'Answer rate'), pct('service_level', 'Service level'), dur('avg_speed_of_answer_sec', 'ASA'), dur('avg_talk_sec', 'Avg talk'), num('abandoned', 'Abandoned'), pct('callback_rate', 'Callback rate')];
const AGENT_COLUMNS: Column[] = [num('answered', 'Answered'), dur('avg_talk_sec', 'Avg talk'), dur('total_talk_sec', 'Total talk'), num('outbound_attempts', 'Outbound'), num('outbound_answered', 'Outbound answered'), num('voicemails', 'Voicemails')];

function GroupTable({ title, stats, columns, keyLabel }: { title: string; stats: Stats | null; columns: Column[]; keyLabel: string }) {
  if (!stats) return null;
  return (
    <div class="table-scroll">
      <table class="list" aria-label={title}>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            {columns.map((c) => (
              <th scope="col" class="num" key={c.key}>
                <abbr title={stats.definitions[c.key]}>{c.label}</abbr>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {stats.groups.map((g) => (
            <tr key={String(g.key)}>
              <th scope="row">{g.key === null ? <span class="muted">none</span> : String(g.key)}</th>
              {columns.map((c) => (
                <td class="num" key={c.key}>
                  {c.show(g)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StatsPage({ params }: { params: URLSearchParams }) {
  const info = useApi<Info>('/api/info');
  const tz = params.get('tz') ?? info.data?.tz ?? null;
  const today = tz ? localDate(tz, Date.now()) : null;
  const to = params.get('to') ?? today;
  const from = params.get('from') ?? (today ? nextDate(today, -29) : null);
  const range = tz && from && to ? { ...dayBounds(tz, from, to), tz } : null;
  const path = (p: string, extra: Record<string, string> = {}) => (range ? `${p}${query({ ...range, ...extra })}` : null);
  // the team grouping carries the totals too: one request fewer over a large range
  const teams = useApi<Stats>(path('/api/stats', { group_by: 'team' }));
  const agents = useApi<Stats>(path('/api/stats', { group_by: 'agent' }));
  const hours = useApi<Stats>(path('/api/stats', { group_by: 'hour' }));
  const heatmap = useApi<Heatmap>(path('/api/stats/heatmap'));
  const [draft, setDraft] = useState<{ from?: string; to?: string; tz?: string }>({});

  const apply = (e: Event) => {
    e.preventDefault();
    navigate('stats', { from: draft.from ?? from ?? undefined, to: draft.to ?? to ?? undefined, tz: draft.tz ?? tz ?? undefined });
  };
  const preset = (days: number) => {
    if (!today || !tz) return;
    setDraft({});
    navigate('stats', { from: nextDate(today, -(days - 1)), to: today, tz });
  };
  const t = teams.data?.totals;
  const byHour = hours.data ? Array.from({ length: 24 }, (_, h) => hours.data?.groups.find((g) => g.key === h)) : null;

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Stats</h1>
      </div>
      <form class="filters" onSubmit={apply} aria-label="Range and time zone">
        <label>
          From
          <input name="from" type="date" required value={draft.from ?? from ?? ''} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
        </label>
        <label>
          To
          <input name="to" type="date" required value={draft.to ?? to ?? ''} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        </label>
        <label>
          Time zone
          <select name="tz" value={draft.tz ?? tz ?? 'UTC'} onChange={(e) => setDraft({ ...draft, tz: e.currentTarget.value })}>
            {(tz && !ZONES.includes(tz) ? [tz, ...ZONES] : ZONES).map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <div class="actions">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={() => preset(1)}>
            Today
          </button>
          <button type="button" class="secondary" onClick={() => preset(7)}>
            7 days
          </button>
          <button type="button" class="secondary" onClick={() => preset(30)}>
            30 days
          </button>
        </div>
      </form>
      <ErrorNote error={info.error ?? teams.error ?? agents.error ?? hours.error ?? heatmap.error} />
      <Loading when={(info.loading || teams.loading) && !teams.data} />
      {t && teams.data ? (
        <>
          <p class="muted" id="stats-range">
            {from} to {to} in {tz}; service level within {teams.data.sl} s; short abandons under {teams.data.short_abandon_sec} s.
          </p>
          <div class="figures small" aria-live="polite" aria-busy={teams.loading}>
            {HEADLINE.map((c) => (
              <Figure key={c.key} id={`stat-${c.key}`} label={c.label} value={c.show(t)} />
            ))}
          </div>
          <details class="definitions">
            <summary>How each figure is counted</summary>
            <dl>
              {HEADLINE.map((c) => (
                <div key={c.key}>
                  <dt>{c.label}</dt>
                  <dd>{teams.data?.definitions[c.key] ?? ''}</dd>
                </div>
              ))}
            </dl>
          </details>
        </>
      ) : null}

      <h2>Calls per hour</h2>
      {byHour ? (
        <SlotChart
          label={`Offered and missed calls per hour of the day, ${tz}`}
          x={byHour.map((_, h) => String(h).padStart(2, '0'))}
          series={[
            { label: 'Offered', color: '#2563eb', kind: 'bars', values: byHour.map((g) => g?.offered ?? 0) },
            { label: 'Missed', color: '#c2410c', kind: 'line', values: byHour.map((g) => g?.missed ?? 0) },
          ]}
        />
      ) : (
        <Loading when={hours.loading} />
      )}

      <h2>Weekday by hour</h2>
      {heatmap.data ? <HeatmapGrid data={heatmap.data} /> : <Loading when={heatmap.loading} />}

      <h2>Per team</h2>
      <GroupTable title="Figures per team" stats={teams.data} columns={TEAM_COLUMNS} keyLabel="Team" />
      <h2>Per agent</h2>
      <GroupTable title="Figures per agent" stats={agents.data} columns={AGENT_COLUMNS} keyLabel="Agent" />
    </section>
  );
}
