/** Routes live in the hash (#/calls?team=Sales): no server fallback needed, and every view can be bookmarked. */
export interface Route {
  /** Path segments after #/, e.g. ['calls', '<id>']. */
  parts: string[];
  params: URLSearchParams;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeSegment);
  return { parts: parts.length > 0 ? parts : ['live'], params: new URLSearchParams(search) };
}

/** Changes the hash route: pages keep their filters in it, so a view can be bookmarked and shared. */
export function navigate(path: string, params?: Record<string, string | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') q.set(k, v);
  location.hash = `#/${path}${q.size > 0 ? `?${q.toString()}` : ''}`;
}
