/**
 * One CSV cell, for every CSV the daemon and the hub write (certificates, QA exports, project
 * reports). RFC 4180: a cell holding a comma, a semicolon, a quote or a line break is quoted,
 * quotes doubled; the semicolon too, because spreadsheets in many locales split CSV on it, and an
 * unquoted `A;=1+1` would put a formula in the next column. A text cell starting with = + - @ (or
 * a tab or carriage return) would run as a formula in a spreadsheet (a serial number is user
 * input): it is prefixed with an apostrophe. Numbers stay numbers.
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const raw = String(v);
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",;\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
