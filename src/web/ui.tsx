import type { ComponentChildren } from 'preact';
import type { ApiError } from './api.js';
import { formatTime } from './format.js';

export function ErrorNote({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      <strong>{error.code}</strong>: {error.message}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted" aria-live="polite">Loading…</p> : null;
}

export function Time({ iso, tz }: { iso: string | null | undefined; tz?: string }) {
  return iso ? <time dateTime={iso}>{formatTime(iso, tz)}</time> : <span class="muted">—</span>;
}

export function Status({ value }: { value: string }) {
  return <span class={`badge badge-${value.replace(/[^a-z_]/g, '')}`}>{value.replace(/_/g, ' ')}</span>;
}

/** A JSON value as indented text: Preact escapes it, so markup in a payload stays text. */
export function Raw({ value }: { value: unknown }) {
  return <pre class="raw">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}

export function Figure({ label, value, hint, id }: { label: string; value: ComponentChildren; hint?: string | undefined; id?: string }) {
  return (
    <div class="figure" id={id}>
      <div class="figure-value">{value}</div>
      <div class="figure-label">{label}</div>
      {hint ? <div class="figure-hint">{hint}</div> : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}

/** Text with a control to copy it. */
export function Copyable({ text, label }: { text: string; label: string }) {
  return (
    <div class="copyable">
      <code aria-label={label}>{text}</code>
      <button type="button" onClick={() => void navigator.clipboard?.writeText(text)}>
        Copy
      </button>
    </div>
  );
}
