// One task at a time, in arrival order. Commands change the device (slots, workloads); running
// two at once is never right, so serialisation lives here rather than in locks around the code.

export class ExclusiveRunner {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Queues `task`; resolves with its value once it has run. Errors go to the caller only. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(task);
    this.tail = result
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.pending -= 1;
      });
    return result;
  }

  get busy(): boolean {
    return this.pending > 0;
  }

  /** Resolves when everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
