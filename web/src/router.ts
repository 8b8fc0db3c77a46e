// Client-side routes: / (home) and /p/<id>/ (IDE).

export type Route = { page: 'home' } | { page: 'ide'; id: string } | { page: 'unknown' };

// Playground ids are short URL-safe tokens; anything else is not a route.
export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '/index.html') return { page: 'home' };
  const m = /^\/p\/([A-Za-z0-9_-]{1,64})\/?$/.exec(pathname);
  if (m) return { page: 'ide', id: m[1] };
  return { page: 'unknown' };
}

// Navigates without reloading; main.ts listens for the event.
export function navigate(path: string): void {
  history.pushState(null, '', path);
  window.dispatchEvent(new Event('pg-navigate'));
}
