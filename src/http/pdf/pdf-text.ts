/**
 * Text for pdfkit's standard fonts (Helvetica, Courier), which encode WinAnsi (Windows-1252)
 * only: pdfkit writes any other character as its UTF-16 code unit in hex, which a viewer shows as
 * unrelated glyphs or nothing. A serial number or an operator's name can hold any character, so
 * every string goes through winAnsi() before it reaches the PDF.
 *
 * The mapping: text is NFC-normalised first (an "e" with a combining acute becomes the WinAnsi "é",
 * the same text); every WinAnsi character is kept; three mathematical signs our own wording uses
 * (≤ ≥ and the minus sign) are spelled in ASCII with the same meaning; anything else (Ł, 山,
 * emoji, control characters, invisible ones like zero-width space and soft hyphen) becomes one
 * "?" per character. A "?" is visibly a stand-in; a look-alike (Ł shown as L) could pass for a
 * different serial number. The JSON certificate always holds the exact text, and the PDF says so
 * when it substituted anything.
 */

/** The characters Windows-1252 holds at 0x80-0x9F, by their Unicode code points (pdfkit's WIN_ANSI_MAP). */
const CP1252_HIGH = new Set([
  0x20ac, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x017d, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013,
  0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x017e, 0x0178,
]);

/** Signs with an exact ASCII spelling: no information is lost, so they are not "?". */
const ASCII_SPELLING: Readonly<Record<string, string>> = { '≤': '<=', '≥': '>=', '\u2212': '-' };

export const REPLACEMENT = '?';

function encodable(cp: number): boolean {
  if (cp >= 0x20 && cp <= 0x7e) return true;
  // Latin-1 except the soft hyphen, which pdfkit's line breaking treats as invisible.
  if (cp >= 0xa0 && cp <= 0xff) return cp !== 0xad;
  return CP1252_HIGH.has(cp);
}

/** The text as the standard fonts can show it, and how many characters became "?". */
export function winAnsi(text: string): { text: string; replaced: number } {
  let out = '';
  let replaced = 0;
  // for..of walks code points: an emoji (a surrogate pair) is one "?", not two.
  for (const ch of text.normalize('NFC')) {
    const cp = ch.codePointAt(0)!;
    if (encodable(cp)) out += ch;
    else if (ASCII_SPELLING[ch] !== undefined) out += ASCII_SPELLING[ch];
    else {
      out += REPLACEMENT;
      replaced++;
    }
  }
  return { text: out, replaced };
}
