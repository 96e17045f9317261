import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Fired when the session is gone (expired, signed out elsewhere, token changed). */
export const SIGNED_OUT = 'callhook:signed-out';

/** JSON in and out, with the session cookie; errors carry the catalog's code and message. */
export async function api<T>(path: string, init: { method?: string; json?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: init.json === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: init.json === undefined ? null : JSON.stringify(init.json),
    signal: init.signal ?? null,
  });
  if (response.status === 204) return undefined as T;
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    if (response.status === 401 && path !== '/api/session') window.dispatchEvent(new Event(SIGNED_OUT));
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body as T;
}

/** What a failed request shows: the API's own error, or that the server did not answer. */
export function apiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'network_error', 'callhook did not answer: check that the server is running.');
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing yet) again whenever it changes; the latest request wins. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  const current = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    const n = ++current.current;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { signal: controller.signal }).then(
      (data) => n === current.current && setState({ data, error: null, loading: false }),
      (err: unknown) => {
        if (n !== current.current || controller.signal.aborted) return;
        setState((s) => ({ data: s.data, error: apiError(err), loading: false }));
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
