/**
 * The console's pages are rendered here, on the server, as plain HTML strings: each page works
 * (and prints) without its script, and a little JavaScript per page (web/assets/) adds what needs
 * the live daemon: the scan field, progress by server-sent events, confirmations. Nothing is
 * fetched from anywhere but the daemon itself (factories are offline; see the CSP below).
 */

/** Escapes text for HTML content and quoted attribute values. */
export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Console pages load their scripts and styles from the daemon only, run no inline script, and
 * talk to nothing else: stored text (a serial, a link id, an operator's name) cannot act in the page.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export type Section = 'benches' | 'projects' | 'qa';

export interface PageOptions {
  title: string;
  section?: Section;
  /** The signed-in person's name, or undefined (the page offers to sign in). */
  signedInAs: string | undefined;
  /** Scripts under /assets/ beyond console.js, e.g. 'bench.js'. */
  scripts?: readonly string[];
  body: string;
}

const NAV: readonly { section: Section; href: string; label: string }[] = [
  { section: 'benches', href: '/', label: 'Benches' },
  { section: 'projects', href: '/projects', label: 'Projects' },
  { section: 'qa', href: '/qa', label: 'QA search' },
];

/** The page shell every console page shares: navigation, who is signed in, the scripts. */
export function page(o: PageOptions): string {
  const nav = NAV.map((n) => `<a href="${n.href}"${n.section === o.section ? ' aria-current="page"' : ''}>${n.label}</a>`).join('');
  const who = o.signedInAs
    ? `<span class="who">Signed in: <b>${esc(o.signedInAs)}</b></span> <button type="button" id="sign-out" class="link">Sign out</button>`
    : `<a href="/sign-in" class="who">Sign in</a>`;
  const scripts = ['console.js', ...(o.scripts ?? [])].map((s) => `<script src="/assets/${esc(s)}" defer></script>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} · mpocert</title><link rel="stylesheet" href="/assets/console.css">${scripts}</head>
<body data-signed-in="${o.signedInAs ? 'yes' : 'no'}"><header class="top"><span class="brand">mpocert</span><nav>${nav}</nav><span class="session">${who}</span></header>
<main>${o.body}</main></body></html>`;
}

/** A table of rows, with cells already escaped HTML. */
export function table(head: readonly string[], rows: readonly (readonly string[])[], attrs = ''): string {
  return `<table ${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
