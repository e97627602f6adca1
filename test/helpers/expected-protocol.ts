/**
 * In-memory transcript tests (PyMeasure's `expected_protocol`): a driver talks to a link that
 * expects exactly these commands in this order and answers each with the given reply lines.
 *
 *   const m = await expectedProtocol((endpoint) => createThorlabsPm100({ id: 'pm', endpoint }), [
 *     ['*IDN?', 'THORLABS,PM101,M00512345,1.5.0'],
 *     ['*CLS', null],                                // no reply
 *     ...
 *   ]);
 *   await m.instrument.connect(); ...; m.done();      // every pair was used, nothing else was sent
 *
 * A command out of order fails the exchange at once with the expected and the actual command.
 */
import { EventEmitter } from 'node:events';
import type { Link, MemoryEndpoint } from '../../src/transport/line-transport.js';

/** [command the driver must send, reply lines (a string, several, or null for none)]. */
export type Exchange = [string, string | string[] | null];

export interface ExpectedProtocol<T> {
  instrument: T;
  /** Commands sent so far. */
  readonly sent: string[];
  /** Asserts every expected exchange happened and nothing unexpected was sent. */
  done(): void;
}

class ScriptedLink extends EventEmitter implements Link {
  constructor(
    private readonly script: Exchange[],
    private readonly sent: string[],
    private readonly problems: string[],
    private readonly terminator: string,
  ) {
    super();
  }

  async write(data: Buffer): Promise<void> {
    const text = data.toString('latin1');
    if (!text.endsWith(this.terminator)) this.problems.push(`command without its terminator ${JSON.stringify(this.terminator)}: ${JSON.stringify(text)}`);
    const command = text.slice(0, text.length - this.terminator.length);
    this.sent.push(command);
    const next = this.script.shift();
    const problem = !next
      ? `unexpected command ${JSON.stringify(command)} after the script ended`
      : next[0] !== command
        ? `expected ${JSON.stringify(next[0])}, driver sent ${JSON.stringify(command)}`
        : undefined;
    if (problem || !next) {
      this.problems.push(problem ?? 'script ended');
      // Fail the exchange now rather than at its timeout.
      setImmediate(() => this.emit('down', new Error(problem)));
      return;
    }
    const reply = next[1];
    if (reply === null) return;
    const lines = Array.isArray(reply) ? reply : [reply];
    setImmediate(() => {
      for (const l of lines) this.emit('line', l);
    });
  }

  async destroy(): Promise<void> {
    /* nothing to release */
  }
}

export function expectedProtocol<T>(make: (endpoint: MemoryEndpoint) => T, script: Exchange[], opts: { terminator?: string } = {}): ExpectedProtocol<T> {
  const remaining = [...script];
  const sent: string[] = [];
  const problems: string[] = [];
  const endpoint: MemoryEndpoint = {
    kind: 'memory',
    name: 'expected-protocol',
    open: async () => new ScriptedLink(remaining, sent, problems, opts.terminator ?? '\n'),
  };
  return {
    instrument: make(endpoint),
    sent,
    done() {
      const left = remaining.map((x) => x[0]);
      if (problems.length || left.length) {
        throw new Error(`transcript mismatch:\n${[...problems, ...(left.length ? [`never sent: ${left.map((x) => JSON.stringify(x)).join(', ')}`] : [])].join('\n')}`);
      }
    },
  };
}
