// Entry point: client-side routing between the home page (/) and the IDE
// (/p/<id>/). The hub serves this index.html for both.
import './style.css';
import { renderHome } from './home';
import { parseRoute, navigate } from './router';
import { brand, h, messagePage } from './ui';
import { startEarly } from './early';

const app = document.getElementById('app')!;
let cleanup: (() => void) | null = null;

async function route(): Promise<void> {
  cleanup?.();
  cleanup = null;
  app.replaceChildren();
  const r = parseRoute(location.pathname);
  if (r.page === 'ide') {
    if (!location.pathname.endsWith('/')) history.replaceState(null, '', location.pathname + '/');
    // Look the playground up and connect while the IDE's code loads.
    const early = startEarly(r.id);
    cleanup = () => early.ws.stop();
    const { renderIde } = await import('./ide');
    cleanup = renderIde(app, r.id, early);
  } else if (r.page === 'home') {
    cleanup = renderHome(app);
  } else {
    app.append(
      h('header', { class: 'topbar' }, brand()),
      messagePage({ icon: 'compass', title: 'Page not found', text: `There is nothing at ${location.pathname}.`, actions: [h('a', { class: 'btn primary', href: '/' }, 'Go to your playgrounds')] }),
    );
  }
}

// Links inside the app navigate without a reload.
document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || a.hasAttribute('download')) return;
  if (parseRoute(url.pathname).page === 'unknown') return;
  e.preventDefault();
  navigate(url.pathname);
});
window.addEventListener('popstate', () => route());
window.addEventListener('pg-navigate', () => route());
route();
