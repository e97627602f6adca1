/**
 * One request at a time per physical port (zigbee-herdsman's `Queue`, reduced to what a serial
 * line needs: strict FIFO, concurrency 1). A failed task never blocks the ones behind it.
 *
 * Why a queue and not a mutex flag: instruments on RS-232, RS-485 and raw sockets answer in
 * order and carry no request id, so the only safe way to match a reply to its request is to have
 * exactly one request in flight per port. Drivers for several unit ids on one RS-485 line share
 * one queue (see ModbusBus.shared).
 */
export class RequestQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Runs `task` after every task queued before it has settled; resolves or rejects with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(() => {
      this.waiting--;
      return task();
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Tasks queued and not yet started. */
  get depth(): number {
    return this.waiting;
  }

  /** Resolves once every task queued so far has settled. */
  async drained(): Promise<void> {
    await this.tail;
  }
}
