// The werift baseline: the forwarder a TypeScript developer would build on a full JavaScript
// RTCPeerConnection. One werift peer connection per publisher (receives VP8 simulcast), one per
// subscriber (sends VP8); every RTP packet of a publisher's top layer is sent to each of its
// subscribers. Signalling is a small JSON-over-HTTP API for the bench's load peers:
// POST /publish {peerId, sdp} → {sdp}, POST /subscribe {peerId, targetId} → {sdp} (offer),
// POST /answer {peerId, targetId, sdp}. Prints its base URL on stdout; stops on SIGTERM.
import http from 'node:http';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpSender,
  useSdesMid,
  useSdesRTPStreamId,
} from 'werift';

const MAX_BODY_BYTES = 256 * 1024;

function peerConnection(): RTCPeerConnection {
  return new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          payloadType: 96,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48_000,
          channels: 2,
          payloadType: 111,
        }),
      ],
    },
    headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId()], audio: [useSdesMid()] },
  });
}

async function gathered(pc: RTCPeerConnection): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (pc.iceGatheringState !== 'complete' && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  return pc.localDescription!.sdp;
}

interface Published {
  pc: RTCPeerConnection;
  senders: Set<RTCRtpSender>;
}

const publishers = new Map<string, Published>();
const subscribers = new Map<string, RTCPeerConnection>();

async function publish(body: { peerId: string; sdp: string }): Promise<{ sdp: string }> {
  const pc = peerConnection();
  const entry: Published = { pc, senders: new Set() };
  publishers.set(body.peerId, entry);
  await pc.setRemoteDescription({ type: 'offer', sdp: body.sdp });
  for (const t of pc.getTransceivers()) {
    if (t.kind !== 'video') continue;
    // Only the top simulcast layer (or the single stream) is forwarded, as the SFU does for a
    // subscriber with bandwidth to spare. werift announces one track per transceiver; the
    // layers' tracks are in the receiver's trackByRID.
    const track = t.receiver.trackByRID.f ?? t.receiver.track;
    track.onReceiveRtp.subscribe((rtp) => {
      const wire = rtp.serialize();
      for (const sender of entry.senders) sender.sendRtp(wire).catch(() => undefined);
    });
  }
  await pc.setLocalDescription(await pc.createAnswer());
  return { sdp: await gathered(pc) };
}

async function subscribe(body: { peerId: string; targetId: string }): Promise<{ sdp: string }> {
  const target = publishers.get(body.targetId);
  if (!target) throw new Error(`unknown publisher ${body.targetId}`);
  const pc = peerConnection();
  subscribers.set(`${body.peerId}/${body.targetId}`, pc);
  const transceiver = pc.addTransceiver('video', { direction: 'sendonly' });
  target.senders.add(transceiver.sender);
  await pc.setLocalDescription(await pc.createOffer());
  return { sdp: await gathered(pc) };
}

async function answer(body: { peerId: string; targetId: string; sdp: string }): Promise<{ sdp: string }> {
  const pc = subscribers.get(`${body.peerId}/${body.targetId}`);
  if (!pc) throw new Error('no such subscription');
  await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
  return { sdp: '' };
}

const routes: Record<string, (body: never) => Promise<{ sdp: string }>> = {
  '/publish': publish,
  '/subscribe': subscribe,
  '/answer': answer,
};

const server = http.createServer((req, res) => {
  const route = routes[req.url ?? ''];
  if (req.method !== 'POST' || !route) {
    res.writeHead(404).end('not found');
    return;
  }
  let raw = '';
  req.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
    if (raw.length > MAX_BODY_BYTES) req.destroy();
  });
  req.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400).end('invalid JSON');
      return;
    }
    route(body as never).then(
      (out) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out)),
      (err: unknown) => res.writeHead(400).end(String((err as Error)?.message ?? err)),
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  for (const p of publishers.values()) p.pc.close().catch(() => undefined);
  for (const pc of subscribers.values()) pc.close().catch(() => undefined);
  server.close();
  setTimeout(() => process.exit(0), 300).unref();
});
