/**
 * One EventSource for the whole dashboard (same origin, so the session cookie goes with it); it
 * reconnects by itself and resumes with Last-Event-ID.
 */
type Handler = (data: unknown) => void;
type StatusHandler = (open: boolean) => void;

let source: EventSource | null = null;
const handlers = new Map<string, Set<Handler>>();
const statusHandlers = new Set<StatusHandler>();
let open = false;

function setOpen(value: boolean) {
  open = value;
  for (const h of statusHandlers) h(value);
}

function listen(type: string) {
  source?.addEventListener(type, (e) => {
    let data: unknown;
    try {
      data = JSON.parse((e as MessageEvent<string>).data);
    } catch {
      return;
    }
    for (const h of handlers.get(type) ?? []) h(data);
  });
}

export function startStream(): void {
  if (source) return;
  source = new EventSource('/api/stream');
  source.onopen = () => setOpen(true);
  source.onerror = () => setOpen(false);
  for (const type of handlers.keys()) listen(type);
}

export function stopStream(): void {
  source?.close();
  source = null;
  setOpen(false);
}

/** Calls `handler` with each message of that type (`call`, `alert`, an event kind); returns the unsubscribe. */
export function onStream(type: string, handler: Handler): () => void {
  let set = handlers.get(type);
  if (!set) {
    set = new Set();
    handlers.set(type, set);
    listen(type);
  }
  set.add(handler);
  return () => set.delete(handler);
}

export function onStreamStatus(handler: StatusHandler): () => void {
  statusHandlers.add(handler);
  handler(open);
  return () => statusHandlers.delete(handler);
}
