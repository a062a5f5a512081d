// A load subscriber's layer choice, the way a Waterbus client makes it: its own `track_quality`
// data channel on the subscriber connection (SCTP over the DTLS it already has, RFC 8831), and one
// binary UTF-8 JSON message `{"trackId": <publisher's video track>, "quality": 0-3}` on it
// (docs: waterbus-protocol "Data channels"; the server reads it in src/sfu/media/data-channels.ts).
// The SCTP association and DCEP are the project's own (src/transport/sctp), run on the peer side.
import { SctpAssociation } from '../src/transport/sctp/index.ts';
import type { PeerLink } from './peer-link.ts';

/** Simulcast rid a load subscriber asks for: q (lowest), h (medium) or f (top). */
export type LayerWish = 'q' | 'h' | 'f';

/** Waterbus quality numbers: 0 pauses, 1 low, 2 medium, 3 high. */
export const QUALITY_OF: Readonly<Record<LayerWish, 1 | 2 | 3>> = { q: 1, h: 2, f: 3 };

const LABEL = 'track_quality';
const OPEN_TIMEOUT_MS = 15_000;

/** The message as the server parses it: binary, UTF-8 JSON. */
export function qualityMessage(trackId: string, wish: LayerWish): Buffer {
  return Buffer.from(JSON.stringify({ trackId, quality: QUALITY_OF[wish] }), 'utf8');
}

/**
 * Opens `track_quality` on a connected link and sends the wish; resolves once it was handed to
 * SCTP (the server acts on it when it arrives: the switch waits for a keyframe of that layer).
 * The association stays up with the link (`close()` stops its timers).
 */
export async function requestLayer(
  link: PeerLink,
  remote: { sctpPort: number },
  trackId: string,
  wish: LayerWish,
): Promise<SctpAssociation> {
  if (!link.dtlsRole) throw new Error('track_quality: DTLS is not up');
  const association = new SctpAssociation({
    dtlsRole: link.dtlsRole,
    remotePort: remote.sctpPort,
    send: (packet) => link.sendAppData(packet),
  });
  link.onAppData = (data) => association.handle(data);
  association.start();
  const channel = association.createDataChannel(LABEL);
  if (!channel) throw new Error('track_quality: no stream id left');
  const opened = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => opened.reject(new Error('track_quality: SCTP did not open')),
    OPEN_TIMEOUT_MS,
  );
  if (channel.state === 'open') opened.resolve();
  else channel.onOpen = () => opened.resolve();
  try {
    await opened.promise;
  } catch (err) {
    association.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (!channel.send(qualityMessage(trackId, wish))) {
    association.close();
    throw new Error('track_quality: the message was refused');
  }
  return association;
}
