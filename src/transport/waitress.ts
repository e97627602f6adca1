/**
 * Matches what arrives on a link to the request waiting for it, with a timeout that knows its
 * context (zigbee-herdsman's `Waitress`, for text lines and replies that span several of them).
 *
 * A request registers an `Expectation`: which arrivals belong to it (`accept`; anything else is
 * counted as stray, never handed to a later request) and when its reply is complete (`done`).
 * An arrival with no expectation waiting is stray (the caller counts strays). On timeout the expectation is removed first,
 * so a late reply can only ever be stray; the caller decides what else a timeout means (the line
 * transport reopens the port).
 */
export interface Expectation<T> {
  /** Arrivals for which this returns false are skipped and counted as stray. Default: all. */
  accept?: (item: T) => boolean;
  /** True once the items collected so far are the whole reply. */
  done: (items: T[]) => boolean;
  timeoutMs: number;
  /** The error to reject with on timeout, given what had arrived by then. */
  onTimeout: (partial: readonly T[]) => Error;
}

interface Waiter<T> {
  e: Expectation<T>;
  items: T[];
  resolve: (items: T[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waitress<T> {
  private waiters: Waiter<T>[] = [];

  /** Registers an expectation; the promise settles with the collected items, or the timeout's error. */
  waitFor(e: Expectation<T>): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      const w: Waiter<T> = {
        e,
        items: [],
        resolve,
        reject,
        timer: setTimeout(() => {
          if (!this.remove(w)) return;
          reject(e.onTimeout(w.items));
        }, e.timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Offers one arrival to the oldest waiter that accepts it. Returns false when it was stray. */
  offer(item: T): boolean {
    const w = this.waiters.find((x) => !x.e.accept || x.e.accept(item));
    if (!w) return false;
    w.items.push(item);
    if (w.e.done(w.items)) {
      this.remove(w);
      w.resolve(w.items);
    }
    return true;
  }

  /** The items collected so far by the oldest waiter (for error context). */
  partial(): readonly T[] | undefined {
    return this.waiters[0]?.items;
  }

  get pending(): boolean {
    return this.waiters.length > 0;
  }

  /** Rejects every waiter (the link went down or was closed). */
  rejectAll(makeError: (partial: readonly T[]) => Error): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(makeError(w.items));
    }
  }

  private remove(w: Waiter<T>): boolean {
    const i = this.waiters.indexOf(w);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    return true;
  }
}
