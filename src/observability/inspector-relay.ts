import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** The hosted Stately inspector UI the local page embeds; it receives events by postMessage, in the browser. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

/** New viewers get the most recent events first, so a page opened late still shows running sagas. */
const REPLAY = 200;

export interface InspectorRelay {
  /** `http://127.0.0.1:<port>/<viewer key>`: the page to open in a browser (its WebSocket is the same path). */
  readonly url: string;
  readonly port: number;
  /** Where the service's own inspector publishes (it carries a per-process key). */
  readonly publishUrl: string;
  /** Resolves once the service's inspector is connected. */
  readonly publisherConnected: Promise<void>;
  close(): Promise<void>;
}

/**
 * The inspector's local server: a page that embeds Stately's inspector UI and a WebSocket relay that
 * forwards the service's inspection events to every open page.
 *
 * It does the job of `createInspectorServer` from `@statelyai/inspect/server` (0.7), which we cannot use
 * as is: it listens on every interface with no way to choose one (inspection data would be open to the
 * network), lets any connected client publish, crashes the process on EADDRINUSE, and does not close its
 * connections on stop. Here: bound to 127.0.0.1, only the service publishes (a random key in its path),
 * viewers must come from this page's own origin (a web page elsewhere in the same browser cannot read the
 * stream: WebSockets are not covered by CORS), and close() frees the port.
 */
export async function startInspectorRelay(port: number): Promise<InspectorRelay> {
  const key = randomBytes(18).toString('base64url');
  const publishPath = `/publish/${key}`;
  // Any local process can connect to 127.0.0.1, and one with no Origin is no browser page we could turn
  // away: the page and its stream are at a random path, given only in the URL the service logs.
  const viewerPath = `/${randomBytes(18).toString('base64url')}`;
  let boundPort = port;
  const sameOrigin = (origin: string | undefined) =>
    origin === undefined ||
    origin === `http://127.0.0.1:${boundPort}` ||
    origin === `http://localhost:${boundPort}`;

  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== viewerPath) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(bridgePage());
  });
  const relay = new WebSocketServer({
    server,
    maxPayload: 4 * 1024 * 1024,
    verifyClient: ({ req }: { req: IncomingMessage }) =>
      (req.url === publishPath || req.url === viewerPath) && sameOrigin(req.headers.origin),
  });
  const replay: string[] = [];
  let publisherConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    publisherConnected = resolve;
  });
  relay.on('connection', (socket, request) => {
    if (request.url === publishPath) {
      publisherConnected();
      socket.on('message', (data) => {
        const message = data.toString();
        replay.push(message);
        if (replay.length > REPLAY) replay.shift();
        for (const viewer of relay.clients)
          if (viewer !== socket && viewer.readyState === WebSocket.OPEN) viewer.send(message);
      });
      return;
    }
    for (const message of replay) socket.send(message);
    // Viewers only listen; what they send is ignored.
  });
  // Errors of one socket end that socket; they must not take the process down.
  relay.on('connection', (socket) => socket.on('error', () => socket.terminate()));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${boundPort}${viewerPath}`,
    port: boundPort,
    publishUrl: `ws://127.0.0.1:${boundPort}${publishPath}`,
    publisherConnected: connected,
    async close() {
      for (const socket of relay.clients) socket.terminate();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };

  function bridgePage(): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>saga-service: Stately inspector</title>
<style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }</style>
</head>
<body>
<iframe id="inspector" src="${STATELY_INSPECTOR_URL}" title="Stately inspector"></iframe>
<script>
  // The embedded inspector says when it listens; events that come before are held until then.
  const frame = document.getElementById('inspector');
  const held = [];
  let ready = false;
  const deliver = (event) => frame.contentWindow.postMessage(event, ${JSON.stringify(new URL(STATELY_INSPECTOR_URL).origin)});
  window.addEventListener('message', (message) => {
    if (message.data && message.data.type === '@statelyai.connected') {
      ready = true;
      held.splice(0).forEach(deliver);
    }
  });
  const socket = new WebSocket('ws://' + location.host + location.pathname);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (ready) deliver(event);
    else held.push(event);
  };
</script>
</body>
</html>
`;
  }
}
