// mpocert console: what every page shares. Plain browser JavaScript, served by the daemon
// (no build step, no CDN). Writes go through mpocert.post: the session cookie is HttpOnly (no
// script ever sees a token) and the console header proves the request came from our own page.
'use strict';
window.mpocert = {
  /** POST (or another method) JSON to the daemon; resolves with the reply, rejects with its message. */
  async post(url, body, method = 'POST') {
    const res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-mpocert-console': '1' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: text };
    }
    if (!res.ok) {
      const err = new Error(data.message || `${res.status} ${res.statusText}`);
      err.status = res.status;
      err.code = data.error;
      throw err;
    }
    return data;
  },
  async get(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    const data = await res.json();
    if (!res.ok) throw new Error(data.message || `${res.status} ${res.statusText}`);
    return data;
  },
  /** Shows a message in the page's #notice area (role=alert, so screen readers say it too). */
  notice(text, kind = 'error') {
    const n = document.getElementById('notice');
    if (!n) return;
    n.textContent = text;
    n.className = `notice ${kind}`;
    n.hidden = !text;
  },
  esc(v) {
    return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  },
};

/**
 * Where to go after signing in: only a page of this daemon. The URL parser decides, not a prefix
 * test: browsers read "/\\evil.example" and "/<tab>/evil.example" as other hosts.
 */
function sameOriginPath(next) {
  if (!next) return '/';
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? `${url.pathname}${url.search}${url.hash}` : '/';
  } catch {
    return '/';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const out = document.getElementById('sign-out');
  if (out) {
    out.addEventListener('click', async () => {
      await window.mpocert.post('/session/end').catch(() => undefined);
      location.href = '/sign-in';
    });
  }
  const form = document.getElementById('sign-in-form');
  if (form) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const token = form.elements.token.value;
      const name = form.elements.name ? form.elements.name.value.trim() : '';
      try {
        await window.mpocert.post('/session', { token, ...(name ? { name } : {}) });
        form.elements.token.value = '';
        location.href = sameOriginPath(new URLSearchParams(location.search).get('next'));
      } catch (err) {
        form.elements.token.value = '';
        window.mpocert.notice(err.message);
        form.elements.token.focus();
      }
    });
  }
});
