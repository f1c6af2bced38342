/**
 * A reverse proxy that adds a bearer token to every request, as a configured client would, for clients that cannot
 * send one (the MCP conformance suite). It forwards everything else unchanged, `Host` included, so the server's
 * Host and Origin checks see what the client sent. It speaks the target's scheme: HTTPS with the test certificate.
 */
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCertificate } from './tls.js';

export interface AuthProxy {
  /** `http(s)://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 and forwards to `target` (an `http(s)://host:port` URL) with `token`;
 * `cert` (which the target's certificate must be) is required for an `https:` target.
 */
export async function startAuthProxy(target: string, token: string, cert?: TestCertificate): Promise<AuthProxy> {
  const upstream = new URL(target);
  const tls = upstream.protocol === 'https:';
  if (tls && !cert) throw new Error('startAuthProxy: an https target needs the test certificate');
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const options = {
      host: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, authorization: `Bearer ${token}` },
    };
    // The upstream certificate is checked against the name it was made for, whatever Host the client sent.
    const onReply = (reply: IncomingMessage): void => {
      res.writeHead(reply.statusCode!, reply.headers);
      reply.pipe(res);
    };
    const out = tls
      ? httpsRequest({ ...options, ca: cert!.cert, servername: 'localhost' }, onReply)
      : httpRequest(options, onReply);
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = tls ? createHttpsServer({ cert: cert!.cert, key: cert!.key }, forward) : createHttpServer(forward);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${upstream.protocol}//127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
