/**
 * The MoQ viewer's browser entry, bundled by `npm run build` (esbuild) into dist/moq-watch.js:
 * registers <moq-watch> and points it at the broadcast named in the page's query
 * (`?url=ws://…/egress/moq&path=<roomId>/<participantId>`; url defaults to this server's endpoint).
 */
import '@moq/watch/element';

const query = new URLSearchParams(location.search);
const player = document.querySelector('moq-watch');
const status = document.getElementById('status');
const path = query.get('path');
if (player && path) {
  const endpoint = new URL('/egress/moq', location.href);
  endpoint.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  player.setAttribute('url', query.get('url') ?? endpoint.href);
  player.setAttribute('name', path);
  if (status) status.textContent = path;
} else if (status) {
  status.textContent = 'Add ?path=<roomId>/<participantId> to the address.';
}
