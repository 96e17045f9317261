import type { ComponentChildren } from 'preact';
import { useApi } from '../api.js';
import { formatDuration } from '../format.js';
import type { CallDetail } from '../types.js';
import { ErrorNote, Loading, Raw, Status, Time } from '../ui.js';

function Row({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

export function CallPage({ id }: { id: string }) {
  const call = useApi<CallDetail>(`/api/calls/${encodeURIComponent(id)}`);
  const c = call.data;
  return (
    <section>
      <p>
        <a href="#/calls">← Calls</a>
      </p>
      <h1 tabIndex={-1}>
        Call {c ? `${c.from ?? 'unknown'} → ${c.to ?? 'unknown'}` : ''}
      </h1>
      <ErrorNote error={call.error} />
      <Loading when={call.loading && !c} />
      {c ? (
        <>
          <dl class="facts">
            <Row label="Status">
              <Status value={c.status} />
              {c.provisional ? <span class="muted"> (no CDR yet)</span> : null}
              {c.stale ? <span class="muted"> (closed as stale)</span> : null}
            </Row>
            <Row label="Direction">{c.direction ?? '—'}</Row>
            <Row label="Platform">{c.platform}</Row>
            <Row label="Agent">{c.agent ?? '—'}</Row>
            <Row label="Team">{c.team ?? '—'}</Row>
            <Row label="IVR">{c.ivr_name ?? '—'}</Row>
            <Row label="Started">
              <Time iso={c.started_at} />
            </Row>
            <Row label="Answered">
              <Time iso={c.answered_at} />
            </Row>
            <Row label="Ended">
              <Time iso={c.ended_at} />
            </Row>
            <Row label="Wait">{formatDuration(c.wait_sec)}</Row>
            <Row label="Talk">{formatDuration(c.talk_sec)}</Row>
            <Row label="Hang-up reason">{c.hangup_reason ?? '—'}</Row>
            <Row label="Recording">{c.recording ? <code>{c.recording}</code> : '—'}</Row>
            <Row label="Voicemail">{c.voicemail ? <code>{c.voicemail}</code> : '—'}</Row>
            {c.call_rate !== null || c.balance !== null ? (
              <Row label="Rate / balance">
                {c.call_rate ?? '—'} / {c.balance ?? '—'}
              </Row>
            ) : null}
            <Row label="Id">
              <code>{c.id}</code>
            </Row>
          </dl>

          <h2>Legs</h2>
          <table class="list" aria-label="Legs">
            <thead>
              <tr>
                <th scope="col">Leg</th>
                <th scope="col">Leg id</th>
                <th scope="col">Direction</th>
                <th scope="col">Status</th>
                <th scope="col">Agent</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
              </tr>
            </thead>
            <tbody>
              {c.legs.map((leg) => (
                <tr key={leg.call_uuid}>
                  <td>{leg.leg ?? '—'}</td>
                  <td>
                    <code>{leg.call_uuid}</code>
                  </td>
                  <td>{leg.direction ?? '—'}</td>
                  <td>{leg.status}</td>
                  <td>{leg.agent ?? '—'}</td>
                  <td>
                    <Time iso={leg.started_at} />
                  </td>
                  <td>
                    <Time iso={leg.ended_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>

          <h2>Timeline</h2>
          <ol class="timeline">
            {c.events.map((e) => (
              <li key={e.id}>
                <details>
                  <summary>
                    <Time iso={e.occurred_at ?? e.received_at} /> <strong>{e.kind}</strong>
                    {e.agent ? ` · ${e.agent}` : ''}
                    {e.redeliveries > 0 ? <span class="muted"> · delivered {e.redeliveries + 1} times</span> : null}
                  </summary>
                  <p class="muted">
                    Received <Time iso={e.received_at} /> · event {e.id}
                  </p>
                  <Raw value={e.raw} />
                </details>
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}
