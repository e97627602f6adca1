import { esc } from '../../http/web/html.js';

/**
 * The hub's page shell: the console's look (its stylesheets, served by the hub from the same
 * files) with the hub's own navigation. The pages are rendered whole on the server and run no
 * script: forms submit as plain GETs (a search is a URL) or, to re-judge, a POST carrying the token.
 * They are served with the console's CSP (src/http/web/html.ts, CONSOLE_CSP).
 */
export type HubSection = 'search' | 'benches' | 'quarantine' | 'drift' | 'rejudge';

const NAV: readonly { section: HubSection; href: string; label: string }[] = [
  { section: 'search', href: '/qa', label: 'Search' },
  { section: 'benches', href: '/qa/benches', label: 'Benches' },
  { section: 'quarantine', href: '/qa/quarantine', label: 'Quarantine' },
  { section: 'drift', href: '/qa/drift', label: 'Drift' },
  { section: 'rejudge', href: '/qa/rejudge', label: 'Re-judge' },
];

export function hubPage(o: { title: string; section?: HubSection; body: string }): string {
  const nav = NAV.map((n) => `<a href="${n.href}"${n.section === o.section ? ' aria-current="page"' : ''}>${n.label}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} · mpocert hub</title><link rel="stylesheet" href="/assets/console.css"><link rel="stylesheet" href="/assets/qa.css"></head>
<body><header class="top"><span class="brand">mpocert · central QA</span><nav>${nav}</nav></header>
<main>${o.body}</main></body></html>`;
}

/** A notice above a page's content (role=alert): an error, or information. */
export const notice = (text: string | undefined, kind: 'error' | 'info' = 'error'): string =>
  text === undefined ? '' : `<div id="notice" class="notice ${kind}" role="alert">${esc(text)}</div>`;

/** Issue time as stored (UTC), to the second. */
export const issued = (at: string | null): string => (at ? at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/** A verdict, coloured as on the console; one whose certificate failed verification is shown as not trusted. */
export const verdictCell = (verdict: string | null | undefined, failed = false): string =>
  verdict === null || verdict === undefined ? '' : failed ? `<span class="muted">${esc(verdict)} (not trusted)</span>` : `<span class="${esc(verdict)}">${esc(verdict)}</span>`;

/** Links to a certificate's page and PDF. */
export const certificateLinks = (uuid: string): string => `<a href="/certificates/${esc(uuid)}?format=html">HTML</a> <a href="/certificates/${esc(uuid)}?format=pdf">PDF</a>`;
