import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 with an ephemeral port. */
export interface LoopbackServer extends AsyncDisposable {
  readonly server: Server;
  readonly url: URL;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 port 0 and reports the bound port. */
export async function listenLoopback(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { server, url: new URL(`http://127.0.0.1:${port}/`), port, close, [Symbol.asyncDispose]: close };
}

/** Reads a request body as text. */
export async function readBody(req: AsyncIterable<Buffer | string>): Promise<string> {
  let body = '';
  for await (const chunk of req) body += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return body;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function isPortOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
