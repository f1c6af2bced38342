/**
 * JSON-RPC errors numbered by the contract: the contract's code (`ENOCHANGE`) travels in `data.code`, and the
 * number is the one `x-error-map` gives it for the MCP revision the request was made at. The server class also
 * answers a bad `initialize` as invalid params, on every transport it is connected to.
 */
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, ProtocolError, Server } from '@modelcontextprotocol/server';
import { isJSONRPCErrorResponse } from '@modelcontextprotocol/server';
import type {
  Implementation,
  JSONRPCMessage,
  MessageExtraInfo,
  ServerOptions,
  Transport,
} from '@modelcontextprotocol/server';
import type { ErrorCode, ValidationIssue } from '../../generated/types.gen.js';
import { ERROR_MAP, jsonRpcCode } from '../contract/index.js';
import { initializeIssues } from './message-check.js';
import { watchOperations, type Operations, type OperationsDeps, type OperationSite } from './operations.js';
import { holds } from './revisions.js';

/** A JSON-RPC error for a contract code, numbered for `revision`. */
export function rpcError(
  revision: string,
  code: ErrorCode,
  message: string,
  data: Record<string, unknown> = {},
): ProtocolError {
  return new ProtocolError(jsonRpcCode(ERROR_MAP[code], revision), message, { code, ...data });
}

export interface ContractServerOptions {
  /** The `MCP-Protocol-Version` an HTTP request named; a negotiated revision (initialize, envelope) wins. */
  requestedRevision?: string;
  /** Where this server's operations are measured and traced, and what it knows of their site. */
  observed?: { deps: OperationsDeps; site: Omit<OperationSite, 'revision'> };
}

/**
 * The SDK's `Server`, knowing the MCP revision it serves and keeping the contract's number on every error it sends.
 * The SDK's era codecs rewrite -32002 to -32602 on every revision (@modelcontextprotocol/server 2.4.0,
 * `encodeErrorCode`), while up to 2025-11-25 the spec answers a missing resource with -32002; the transport's
 * `send` is the one place past that rewrite, so the contract's number is put back there.
 */
export class ContractServer extends Server {
  private readonly requestedRevision: string | undefined;
  private readonly operations: Operations | undefined;

  constructor(info: Implementation, options: ServerOptions, contract: ContractServerOptions) {
    super(info, options);
    this.requestedRevision = contract.requestedRevision;
    const { observed } = contract;
    this.operations = observed && watchOperations(observed.deps, { ...observed.site, revision: () => this.revision() });
  }

  /**
   * The revision this instance serves: negotiated by `initialize` (a 2025-era session) or by the request's
   * envelope (2026-07-28); else the header a stateless 2025-era request named; else 2025-03-26, what the
   * transport spec says to assume when a request names none.
   */
  revision(): string {
    // The SDK deprecates this accessor for 2026-era handlers, but it is the only one a 2025-era session has.
    const negotiated = this.getNegotiatedProtocolVersion();
    return negotiated ?? this.requestedRevision ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
  }

  override async connect(transport: Transport): Promise<void> {
    const raw = transport.send.bind(transport);
    const send: Transport['send'] = (message, options) => {
      const numbered = this.numbered(message);
      this.operations?.sent(numbered);
      return raw(numbered, options);
    };
    transport.send = send;
    await super.connect(transport);
    // Set by super.connect; a bad initialize is answered here, as invalid params with its id, before the SDK
    // turns its own parse failure into -32603 carrying the raw zod issues.
    const deliver = transport.onmessage;
    const take = (message: JSONRPCMessage, extra?: MessageExtraInfo): void => {
      // From 2026-07-28 there is no initialize: the SDK answers it as an unknown method.
      const issues = holds('stateless', this.revision()) ? [] : initializeIssues(message);
      if (issues.length === 0) return deliver?.(message, extra);
      const id = (message as { id: string | number }).id;
      send(this.badInitialize(id, issues)).catch((err: Error) => this.onerror?.(err));
    };
    const { operations } = this;
    transport.onmessage = operations
      ? (message, extra) => operations.received(message, () => take(message, extra))
      : take;
    const close = transport.onclose;
    transport.onclose = () => {
      operations?.closed();
      close?.();
    };
  }

  private badInitialize(id: string | number, issues: ValidationIssue[]): JSONRPCMessage {
    const summary = issues.map((i) => `${i.location}: ${i.message}`).join('; ');
    const err = rpcError(this.revision(), 'EBADINPUT', `Invalid params for initialize: ${summary}`, {
      errors: issues,
    });
    return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, data: err.data } };
  }

  private numbered(message: JSONRPCMessage): JSONRPCMessage {
    if (!isJSONRPCErrorResponse(message)) return message;
    const code = (message.error.data as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !Object.hasOwn(ERROR_MAP, code)) return message;
    const number = jsonRpcCode(ERROR_MAP[code as ErrorCode], this.revision());
    return number === message.error.code ? message : { ...message, error: { ...message.error, code: number } };
  }
}
