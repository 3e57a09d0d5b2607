// main.js: the dashboard's shell. A hash router (#/, #/system/ID, #/topology, #/drift?a=&b=,
// #/alarms, #/search?q=) loads one page module at a time (ui/app/pages/NAME.js, exporting
// title, render(el, params, app) and optionally dispose()), disposing of the previous one;
// the navigation bar marks the current page; the global search box goes to #/search?q=.

import { clearError } from './api.js';
import { h } from './dom.js';

const ROUTES = {
  '': 'overview',
  system: 'system',
  topology: 'topology',
  drift: 'drift',
  alarms: 'alarms',
  search: 'search',
  logs: 'logs',
};

const main = document.getElementById('main');
let current = null; // {mod, ctrl}
let seq = 0;

export function parseHash(hash) {
  const raw = hash.replace(/^#/, '');
  const qi = raw.indexOf('?');
  const pathPart = qi >= 0 ? raw.slice(0, qi) : raw;
  const q = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const path = pathPart
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path, q };
}

function setTitle(t) {
  document.title = t ? `${t} · Vantage` : 'Vantage';
}

function markNav(name) {
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function leave() {
  if (!current) return;
  current.ctrl.abort();
  try {
    current.mod?.dispose?.();
  } catch (e) {
    console.error('dispose', e);
  }
  current = null;
}

async function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // an in-page anchor (the skip link): not a route
  const my = ++seq;
  const params = parseHash(hash);
  const name = ROUTES[params.path[0] ?? ''];
  leave();
  clearError();
  main.textContent = '';
  main.setAttribute('aria-busy', 'true');
  markNav(name === 'system' || name === 'search' ? '' : name);
  const gq = document.getElementById('gq');
  if (name === 'search') gq.value = params.q.get('q') || '';
  const ctrl = new AbortController();
  if (!name) {
    setTitle('Not found');
    main.append(h('h1', null, 'Not found'), h('p', null, 'No page at ', h('code', null, hash), '. ', h('a', { href: '#/' }, 'Go to the overview'), '.'));
    main.removeAttribute('aria-busy');
    return;
  }
  let mod;
  try {
    mod = await import(`./pages/${name}.js`);
  } catch (e) {
    if (my !== seq) return;
    setTitle('Unavailable');
    main.append(h('h1', null, 'Page unavailable'), h('p', null, `The ${name} page could not be loaded: ${e.message}`));
    main.removeAttribute('aria-busy');
    return;
  }
  if (my !== seq) return;
  current = { mod, ctrl };
  setTitle(mod.title);
  const el = h('div', { class: `page page-${name}` });
  main.append(el);
  // A page is current while no route ran after it and the address still names it: the
  // address changes at once, its hashchange (which runs route()) only later, and a page whose
  // data arrives in between must not move or rewrite the address the user just went to.
  const pathOf = (hs) => parseHash(hs || '#/').path.join('/');
  const isCurrent = () => my === seq && pathOf(location.hash) === pathOf(hash);
  const app = {
    signal: ctrl.signal,
    setTitle,
    // a page the user has left (its data or an event arriving late) moves no one
    navigate: (to) => {
      if (isCurrent()) location.hash = to;
    },
    // the page's own address with other parameters (history.replaceState: no new route)
    replace: (to) => {
      if (isCurrent()) history.replaceState(null, '', to);
    },
    isCurrent,
  };
  try {
    await mod.render(el, params, app);
  } catch (e) {
    if (e.name !== 'AbortError' && my === seq) {
      console.error(e);
      el.append(h('p', { class: 'error', role: 'alert' }, `This page failed: ${e.message}`));
    }
  } finally {
    if (my === seq) main.removeAttribute('aria-busy');
  }
}

// After a navigation by the user (not the first load), move focus to the page so a screen
// reader or keyboard user starts at its top.
window.addEventListener('hashchange', async () => {
  await route();
  const h1 = main.querySelector('h1');
  const active = document.activeElement;
  if (!main.contains(active) && active?.id !== 'gq') (h1 ? (h1.setAttribute('tabindex', '-1'), h1) : main).focus({ preventScroll: true });
});

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  (main.querySelector('h1') || main).setAttribute('tabindex', '-1');
  (main.querySelector('h1') || main).focus();
});

document.getElementById('gsearch').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('gq').value.trim();
  if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
});

// "/" focuses the search box (unless typing somewhere).
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  e.preventDefault();
  document.getElementById('gq').focus();
});

route();
