/**
 * Request deadlines on one coarse timer instead of a timer per request: `AbortSignal.timeout` costs a timer
 * and weak references per call, which shows on the scoring hot path. A request is aborted between its
 * deadline and one tick later.
 */
export class Deadlines {
  private readonly live = new Map<AbortController, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly tickMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tickMs = Math.max(10, Math.min(250, Math.floor(timeoutMs / 10)));
  }

  /** A signal that aborts once `timeoutMs` has passed; call `done` when the request has finished. */
  start(): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    this.live.set(controller, this.now() + this.timeoutMs);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      this.timer.unref();
    }
    return { signal: controller.signal, done: () => this.live.delete(controller) };
  }

  private sweep(): void {
    const now = this.now();
    for (const [controller, deadline] of this.live) {
      if (deadline <= now) {
        this.live.delete(controller);
        controller.abort(new DeadlineExceeded(this.timeoutMs));
      }
    }
    if (this.live.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export class DeadlineExceeded extends Error {
  override readonly name = 'TimeoutError';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs / 1000} s`);
  }
}
