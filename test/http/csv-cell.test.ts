import { describe, expect, it } from 'vitest';
import { csvCell } from '../../src/http/csv-cell.js';

/** Every CSV the daemon and the hub write goes through one cell function. */
describe('csvCell', () => {
  it('quotes separators (comma and semicolon), quotes and line breaks, and defuses formulas', () => {
    expect(['plain', 'a,b', 'A;=1+1', 'say "hi"', 'two\nlines', '=HYPERLINK("x")', '+1', '-1', '@SUM(1)', 0.9, -0.3, null, undefined].map(csvCell)).toEqual([
      'plain',
      '"a,b"',
      '"A;=1+1"',
      '"say ""hi"""',
      '"two\nlines"',
      '"\'=HYPERLINK(""x"")"',
      "'+1",
      "'-1",
      "'@SUM(1)",
      '0.9',
      '-0.3',
      '',
      '',
    ]);
  });
});
