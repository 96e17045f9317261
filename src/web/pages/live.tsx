import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, apiError, type ApiError, query, useApi } from '../api.js';
import { isLive, LiveMerge, withCall } from '../live-merge.js';
import { formatDuration, formatPercent, localDate, secondsSince, zonedMidnight } from '../format.js';
import { onStream, onStreamStatus } from '../stream.js';
import type { Call, Info, Stats } from '../types.js';
import { Empty, ErrorNote, Figure, Status } from '../ui.js';

interface LiveCalls {
  waiting: Call[];
  in_progress: Call[];
}

function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function LivePage() {
  const info = useApi<Info>('/api/info');
  const [calls, setCalls] = useState<Map<string, Call>>(new Map());
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const [connected, setConnected] = useState(false);
  const now = useNow();
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadToday = useRef<() => void>(() => undefined);

  useEffect(() => {
    const merge = new LiveMerge();
    let gone = false;
    const load = () => {
      const ticket = merge.request();
      api<LiveCalls>('/api/live').then(
        (data) => {
          const next = merge.answered(ticket, [...data.waiting, ...data.in_progress]);
          if (next && !gone) {
            setCalls(next);
            setLiveError(null);
          }
        },
        (err: unknown) => {
          if (!gone) setLiveError(apiError(err));
        },
      ).finally(() => merge.settled());
    };
    const offCall = onStream('call', (data) => {
      const call = data as Call;
      merge.streamed(call);
      setCalls((prev) => withCall(prev, call));
      // today's figures change when a call ends: fetch them again, at most every 2 seconds
      if (!isLive(call) && refreshTimer.current === null) {
        refreshTimer.current = setTimeout(() => {
          refreshTimer.current = null;
          reloadToday.current();
        }, 2000);
      }
    });
    let wasOpen: boolean | null = null;
    const offStatus = onStreamStatus((open) => {
      setConnected(open);
      // once the stream (re)connects, what it did not carry meanwhile is read again
      if (open && wasOpen === false) {
        merge.gap();
        load();
      }
      wasOpen = open;
    });
    load();
    return () => {
      gone = true;
      offCall();
      offStatus();
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
    };
  }, []);

  const tz = info.data?.tz;
  // "today" is the business's day (CALLHOOK_TZ); a wall screen left on moves to the next one at midnight
  const day = tz ? localDate(tz, now) : null;
  const todayPath = useMemo(() => (tz ? `/api/stats${query({ since: new Date(zonedMidnight(tz, Date.now())).toISOString(), tz })}` : null), [tz, day]);
  const today = useApi<Stats>(todayPath);
  reloadToday.current = today.reload;

  const all = [...calls.values()];
  const waiting = all.filter((c) => c.status !== 'in_progress').sort((a, b) => (a.started_at ?? '').localeCompare(b.started_at ?? ''));
  const inProgress = all.filter((c) => c.status === 'in_progress').sort((a, b) => (a.answered_at ?? a.started_at ?? '').localeCompare(b.answered_at ?? b.started_at ?? ''));
  const longest = waiting.reduce((max, c) => Math.max(max, secondsSince(c.started_at, now)), 0);
  const t = today.data?.totals;

  return (
    <section class="live">
      <div class="page-head">
        <h1 tabIndex={-1}>Live</h1>
        <span class={connected ? 'conn conn-on' : 'conn conn-off'} role="status">
          {connected ? 'Connected' : 'Reconnecting…'}
        </span>
      </div>
      <ErrorNote error={liveError ?? today.error} />
      <div class="figures" aria-live="polite">
        <Figure label="Waiting" value={waiting.length} id="fig-waiting" />
        <Figure label="In progress" value={inProgress.length} id="fig-in-progress" />
        <Figure label="Longest wait" value={formatDuration(longest)} id="fig-longest" />
        <Figure label="Answered today" value={t?.answered ?? '—'} id="fig-answered" />
        <Figure label="Missed today" value={t?.missed ?? '—'} id="fig-missed" />
        <Figure label="Answer rate today" value={formatPercent(t?.answer_rate)} id="fig-answer-rate" hint={tz ? `day in ${tz}` : undefined} />
      </div>
      <div class="columns">
        <div>
          <h2>Waiting</h2>
          {waiting.length === 0 ? (
            <Empty>Nobody is waiting.</Empty>
          ) : (
            <table class="list" aria-label="Calls waiting">
              <thead>
                <tr>
                  <th scope="col">Caller</th>
                  <th scope="col">To</th>
                  <th scope="col">IVR / team</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Waiting</th>
                </tr>
              </thead>
              <tbody>
                {waiting.map((c) => (
                  <tr key={c.id} data-call={c.id}>
                    <td>
                      <a href={`#/calls/${encodeURIComponent(c.id)}`}>{c.from ?? 'unknown'}</a>
                    </td>
                    <td>{c.to ?? '—'}</td>
                    <td>{c.team ?? c.ivr_name ?? '—'}</td>
                    <td>
                      <Status value={c.status} />
                    </td>
                    <td class="num wait">{formatDuration(secondsSince(c.started_at, now))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>In progress</h2>
          {inProgress.length === 0 ? (
            <Empty>No call in progress.</Empty>
          ) : (
            <table class="list" aria-label="Calls in progress">
              <thead>
                <tr>
                  <th scope="col">Caller</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Team</th>
                  <th scope="col">Direction</th>
                  <th scope="col" class="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {inProgress.map((c) => (
                  <tr key={c.id} data-call={c.id}>
                    <td>
                      <a href={`#/calls/${encodeURIComponent(c.id)}`}>{c.from ?? 'unknown'}</a>
                    </td>
                    <td>{c.agent ?? '—'}</td>
                    <td>{c.team ?? '—'}</td>
                    <td>{c.direction ?? '—'}</td>
                    <td class="num">{formatDuration(secondsSince(c.answered_at ?? c.started_at, now))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}
