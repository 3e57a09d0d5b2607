// api.js: the dashboard's calls to the Vantage HTTP API (docs/api.md).
// getJSON(path, params, opts) and send(method, path, body, opts) answer the parsed JSON or
// throw an ApiError; unless opts.quiet, the error is shown in the page's banner. params is an
// object (an array value repeats the parameter: {metric: ['a', 'b']}) or URLSearchParams.
// A bearer token, when the API needs one, is kept in localStorage under 'vantage.token'.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function url(path, params) {
  const qs = new URLSearchParams();
  if (params instanceof URLSearchParams) {
    for (const [k, v] of params) qs.append(k, v);
  } else if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => qs.append(k, String(x)));
      else qs.append(k, String(v));
    }
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

function headers(extra) {
  const hd = { Accept: 'application/json', ...extra };
  let token = null;
  try {
    token = localStorage.getItem('vantage.token');
  } catch {
    /* storage disabled */
  }
  if (token) hd.Authorization = `Bearer ${token}`;
  return hd;
}

async function call(method, target, body, opts = {}) {
  let r;
  try {
    r = await fetch(target, {
      method,
      headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: opts.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    const err = new ApiError(`${method} ${target}: ${e.message} (is the daemon running?)`, 0, null);
    if (!opts.quiet) showError(err.message);
    throw err;
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    const msg = (data && data.error) || text.slice(0, 200) || r.statusText;
    const err = new ApiError(`${method} ${target.split('?')[0]}: ${r.status} ${msg}`, r.status, data);
    if (!opts.quiet) showError(err.message);
    throw err;
  }
  if (data === null && text) {
    const err = new ApiError(`${method} ${target}: the answer is not JSON`, r.status, null);
    if (!opts.quiet) showError(err.message);
    throw err;
  }
  return data;
}

export function getJSON(path, params, opts) {
  return call('GET', url(path, params), undefined, opts);
}

export function send(method, path, body, opts) {
  return call(method, path, body, opts);
}

// The banner under the navigation bar: one message at a time, dismissable.
export function showError(message) {
  const b = document.getElementById('banner');
  if (!b) return;
  b.textContent = '';
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Dismiss';
  close.setAttribute('aria-label', 'Dismiss the error');
  close.addEventListener('click', clearError);
  b.append(text, close);
  b.hidden = false;
}

export function clearError() {
  const b = document.getElementById('banner');
  if (b) {
    b.hidden = true;
    b.textContent = '';
  }
}
