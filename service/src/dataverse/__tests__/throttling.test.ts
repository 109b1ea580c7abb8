/**
 * The throttled sender against a scripted transport: which answers are sent again, how the concurrency
 * limit follows the kind of 429, and when it gives up.
 */
import { waitFor } from '@stc/testkit';
import { ConcurrencyLimiter } from '../concurrency';
import { DataverseError, THROTTLING_CODES } from '../errors';
import { createThrottledSender, type RetryOptions } from '../throttling';
import type { Exchange, Transport } from '../transport';

type Scripted = { status: number; code?: string; retryAfter?: string } | 'no answer';

function scriptedTransport(script: Scripted[]): Transport & { sent: number; invalidated: number } {
  const transport = {
    sent: 0,
    invalidated: 0,
    baseUrl: 'https://org.example/api/data/v9.2/',
    url: (path: string) => `https://org.example/api/data/v9.2/${path}`,
    async exchange(request: { describe: string }, attempt: number): Promise<Exchange> {
      const next = script[Math.min(transport.sent, script.length - 1)];
      transport.sent += 1;
      if (next === 'no answer') {
        const error = new DataverseError({
          status: 0,
          message: 'Network error: reset',
          request: request.describe,
        });
        return { answered: false, error: Object.assign(error, { attempts: attempt }) };
      }
      const headers = new Headers(next.retryAfter ? { 'retry-after': next.retryAfter } : {});
      const text = next.code ? JSON.stringify({ error: { code: next.code, message: 'limit' } }) : '';
      return { answered: true, status: next.status, headers, text };
    },
    invalidateToken() {
      transport.invalidated += 1;
      return true;
    },
    requests: () => transport.sent,
  };
  return transport;
}

const fast = { baseDelayMs: 1, maxDelayMs: 2 };

/** A sender over a transport that answers from `script`, with a limiter starting at `initial` (or its default). */
function scriptedSender(script: Scripted[], options: { initial?: number; retry?: RetryOptions } = {}) {
  const transport = scriptedTransport(script);
  const limiter = new ConcurrencyLimiter(
    options.initial === undefined ? undefined : { initial: options.initial },
  );
  const sender = createThrottledSender({ transport, limiter, retry: options.retry ?? fast });
  return { transport, limiter, sender };
}

describe('throttled sender', () => {
  it('sends a 429 again after its Retry-After and returns the answer that follows', async () => {
    const { transport, limiter, sender } = scriptedSender(
      [{ status: 429, code: THROTTLING_CODES.concurrency, retryAfter: '0.01' }, { status: 204 }],
      { initial: 10 },
    );
    const res = await sender.send('DELETE', transport.url('x'), { idempotent: false, describe: 'DELETE x' });
    expect(res.status).toBe(204);
    expect(res.attempts).toBe(2);
    expect(sender.stats()).toEqual({ throttled: 1, retries: 1 });
    // A 429 for concurrency halves the limit.
    expect(limiter.limit).toBe(5);
  });

  it('keeps the concurrency when the 429 is for the number of requests in the window', async () => {
    const { transport, limiter, sender } = scriptedSender(
      [{ status: 429, code: THROTTLING_CODES.requests, retryAfter: '0' }, { status: 200 }],
      { initial: 10 },
    );
    await sender.send('GET', transport.url('x'), { idempotent: true, describe: 'GET x' });
    expect(limiter.limit).toBe(10);
  });

  it('gives up after the allowed 429s with a transient error naming the request', async () => {
    const { transport, sender } = scriptedSender(
      [{ status: 429, code: THROTTLING_CODES.executionTime, retryAfter: '0' }],
      { retry: { ...fast, maxThrottledAttempts: 3 } },
    );
    const error = await sender
      .send('GET', transport.url('x'), { idempotent: true, describe: 'GET x' })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DataverseError);
    expect(error).toMatchObject({ status: 429, transient: true, attempts: 3, request: 'GET x' });
    expect(transport.sent).toBe(3);
  });

  it('asks for a fresh token once after a 401, then returns the second 401', async () => {
    const { transport, sender } = scriptedSender([{ status: 401 }]);
    const res = await sender.send('GET', transport.url('x'), { idempotent: true, describe: 'GET x' });
    expect(res.status).toBe(401);
    expect(transport.invalidated).toBe(1);
    expect(transport.sent).toBe(2);
  });

  it('sends an idempotent request again after a 503 or no answer, a create never', async () => {
    const { transport: flaky, sender: sender } = scriptedSender([
      'no answer',
      { status: 503 },
      { status: 200 },
    ]);
    const res = await sender.send('GET', flaky.url('x'), { idempotent: true, describe: 'GET x' });
    expect(res).toMatchObject({ status: 200, attempts: 3 });

    const { transport: dropped, sender: creates } = scriptedSender(['no answer', { status: 201 }]);
    await expect(
      creates.send('POST', dropped.url('x'), { idempotent: false, describe: 'POST x' }),
    ).rejects.toMatchObject({ status: 0, transient: true });
    expect(dropped.sent).toBe(1);

    const { transport: failing, sender: once } = scriptedSender([{ status: 503 }, { status: 201 }]);
    const answer = await once.send('POST', failing.url('x'), { idempotent: false, describe: 'POST x' });
    expect(answer.status).toBe(503);
    expect(failing.sent).toBe(1);
  });
});

describe("throttled sender with its caller's signal", () => {
  /** Resolves with `value` after `ms`, without keeping the process alive. */
  const after = <T>(ms: number, value: T) =>
    new Promise<T>((resolve) => setTimeout(() => resolve(value), ms).unref());
  const stopped = () => Object.assign(new Error('the handler was stopped'), { name: 'HandlerStoppedError' });

  it('sends nothing once the signal is aborted during the backoff after a 503, and does not wait it out', async () => {
    const { transport, sender } = scriptedSender([{ status: 503 }, { status: 204 }], {
      retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    const controller = new AbortController();
    const outcome = sender
      .send('PATCH', transport.url('x'), { idempotent: true, describe: 'PATCH x', signal: controller.signal })
      .catch((err: unknown) => err);
    await waitFor(() => transport.sent === 1, 'the first attempt');
    const reason = stopped();
    controller.abort(reason);
    // The backoff is 5 to 10 s: the request ends at once, with the signal's reason, and is not sent again.
    expect(await Promise.race([outcome, after(2_000, 'still waiting')])).toBe(reason);
    expect(transport.sent).toBe(1);
  });

  it('sends nothing once the signal is aborted while a Retry-After holds the request back', async () => {
    const { transport, limiter, sender } = scriptedSender(
      [{ status: 429, code: THROTTLING_CODES.requests, retryAfter: '0.3' }, { status: 204 }],
      { initial: 10 },
    );
    const controller = new AbortController();
    const outcome = sender
      .send('PATCH', transport.url('x'), { idempotent: true, describe: 'PATCH x', signal: controller.signal })
      .catch((err: unknown) => err);
    await waitFor(() => limiter.state().queued === 1, 'the retry waiting for the Retry-After');
    const reason = stopped();
    controller.abort(reason);
    expect(await Promise.race([outcome, after(3_000, 'still waiting')])).toBe(reason);
    expect(transport.sent).toBe(1);
    // The slot it was given is handed back.
    expect(limiter.state()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('sends nothing for a signal aborted before the call', async () => {
    const { transport, limiter, sender } = scriptedSender([{ status: 204 }]);
    const reason = stopped();
    await expect(
      sender.send('DELETE', transport.url('x'), {
        idempotent: true,
        describe: 'DELETE x',
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
    expect(transport.sent).toBe(0);
    expect(limiter.state().inFlight).toBe(0);
  });
});

describe('concurrency limiter', () => {
  it('starts a request queued as a Retry-After ends, even when the pause ends between the check and the wait', async () => {
    // A clock that moves on a millisecond at every reading, as Date.now() does across a pause's last moment.
    let at = 1_000;
    const limiter = new ConcurrencyLimiter({ now: () => at++ });
    const first = await limiter.acquire();
    // 429 with a Retry-After of 2 ms: paused until 1003.
    limiter.release(first, { throttled: true, retryAfterMs: 2, reduce: false });
    // Queued at 1002 (still paused); by the next reading the pause has ended.
    const queued = limiter.acquire().then(() => 'started');
    const stuck = new Promise((resolve) => setTimeout(() => resolve('stuck'), 1_000).unref());
    expect(await Promise.race([queued, stuck])).toBe('started');
    expect(limiter.state()).toMatchObject({ inFlight: 1, queued: 0 });
  });

  it('ends a Retry-After pause after its duration even when the wall clock is stepped back meanwhile', async () => {
    const wall = Date.now.bind(Date);
    let offset = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => wall() + offset);
    try {
      const limiter = new ConcurrencyLimiter();
      const first = await limiter.acquire();
      limiter.release(first, { throttled: true, retryAfterMs: 50, reduce: false });
      // NTP or a resumed virtual machine sets the wall clock back an hour.
      offset = -3_600_000;
      const queued = limiter.acquire().then(() => 'started');
      const stuck = new Promise((resolve) => setTimeout(() => resolve('stuck'), 2_000).unref());
      expect(await Promise.race([queued, stuck])).toBe('started');
    } finally {
      clock.mockRestore();
    }
  });
});
