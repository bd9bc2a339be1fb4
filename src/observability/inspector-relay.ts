import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { LiveSagas } from './inspector-live-sagas.js';

/** The hosted Stately inspector UI the local page embeds; it receives events by postMessage, in the browser. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

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
 * Whether a WebSocket client comes from the inspector's own page, `http://127.0.0.1:<port>` or
 * `http://localhost:<port>`, written as browsers write an origin: without the scheme's default port, so a
 * relay on port 80 is reached from `http://127.0.0.1`. No origin at all is a client that is not a page.
 */
export function isPageOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  return ['127.0.0.1', 'localhost'].some((host) => origin === new URL(`http://${host}:${port}`).origin);
}

/**
 * The inspector's local server: a page that embeds Stately's inspector UI and a WebSocket relay that
 * forwards the service's inspection events to every open page, after every saga still running (see
 * LiveSagas).
 *
 * It does the job of `createInspectorServer` from `@statelyai/inspect/server` (0.7), which we cannot use
 * as is: it listens on every interface with no way to choose one (inspection data would be open to the
 * network), lets any connected client publish, crashes the process on EADDRINUSE, does not close its
 * connections on stop, and replays only the last 200 messages, so a page opened after a dozen sagas never
 * learns of an older one still running. Here: bound to 127.0.0.1, only the service publishes (a random key
 * in its path), viewers must come from this page's own origin (a web page elsewhere in the same browser
 * cannot read the stream: WebSockets are not covered by CORS), and close() frees the port.
 */
export async function startInspectorRelay(port: number): Promise<InspectorRelay> {
  const key = randomBytes(18).toString('base64url');
  const publishPath = `/publish/${key}`;
  // Any local process can connect to 127.0.0.1, and one with no Origin is no browser page we could turn
  // away: the page and its stream are at a random path, given only in the URL the service logs.
  const viewerPath = `/${randomBytes(18).toString('base64url')}`;
  let boundPort = port;

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
      (req.url === publishPath || req.url === viewerPath) && isPageOrigin(req.headers.origin, boundPort),
  });
  const live = new LiveSagas();
  let publisherConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    publisherConnected = resolve;
  });
  relay.on('connection', (socket, request) => {
    if (request.url === publishPath) {
      publisherConnected();
      socket.on('message', (data) => {
        const message = data.toString();
        live.record(message);
        for (const viewer of relay.clients)
          if (viewer !== socket && viewer.readyState === WebSocket.OPEN) viewer.send(message);
      });
      return;
    }
    for (const message of live.replay()) socket.send(message);
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
<style>
  html, body { margin: 0; height: 100%; }
  body { display: flex; flex-direction: column; font: 14px system-ui, sans-serif; }
  #status { margin: 0; padding: 8px 12px; background: #fff4d6; }
  iframe { flex: 1; width: 100%; border: 0; }
</style>
</head>
<body>
<p id="status" role="status">Loading Stately's inspector from ${STATELY_INSPECTOR_URL}: this browser needs internet access (the service does not).</p>
<iframe id="inspector" src="${STATELY_INSPECTOR_URL}" title="Stately inspector"></iframe>
<script>
  const frame = document.getElementById('inspector');
  const status = document.getElementById('status');
  let socket = null;
  window.addEventListener('message', (message) => {
    // Only the embedded inspector may ask for the stream, by announcing that it listens.
    if (message.source !== frame.contentWindow) return;
    if (!message.data || message.data.type !== '@statelyai.connected') return;
    // Posted to the origin the frame has now, which need not be the one in its src (a redirect to www.,
    // a regional host); nothing secret is sent, so an opaque origin gets '*'.
    const origin = message.origin === 'null' ? '*' : message.origin;
    // Every announcement is an inspector that knows nothing yet (a reload, a redirect): a fresh connection
    // gets every running saga from the relay, then the live stream.
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    const current = new WebSocket('ws://' + location.host + location.pathname);
    socket = current;
    current.onopen = () => {
      status.hidden = true;
    };
    current.onmessage = (event) => frame.contentWindow.postMessage(JSON.parse(event.data), origin);
    current.onclose = () => {
      status.textContent = 'The service closed the connection (it stopped or restarted): reload this page.';
      status.hidden = false;
    };
  });
</script>
</body>
</html>
`;
  }
}
