/** The state a request carries from its first middleware to its last (`ctx.state`), made by the request log. */
import type { Logger } from 'pino';
import type { SpanIds } from '../tracing/tracing.js';
import type { Caller, Credentials, OAuthOutcome, RequestState } from './handler.js';

/**
 * A request's `ctx.state`, one shape from its first middleware to its last (every field is there from the start,
 * so V8 keeps one hidden class for all of them), with the handlers' logger made on first use: most requests log
 * nothing but their request line, and a child logger for each was the largest fixed cost of a small request.
 */
export class RequestScope implements RequestState {
  credentials?: Credentials = undefined;
  oauth?: OAuthOutcome = undefined;
  rateKey?: string = undefined;
  caller?: Caller = undefined;
  tool?: string = undefined;
  transport?: RequestState['transport'] = undefined;
  trace?: SpanIds = undefined;
  #log: Logger | undefined;

  constructor(
    public requestId: string,
    public ip: string,
    public bytesSent: () => number,
    private readonly root: Logger,
  ) {}

  get log(): Logger {
    return (this.#log ??= this.root.child({ reqId: this.requestId }));
  }
}
