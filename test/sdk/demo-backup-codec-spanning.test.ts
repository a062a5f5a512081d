import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runningMediaWorkerPools } from '../../src/sfu/media-worker-pool.ts';
import { startTwoWorkerServer, type TestServer } from '../support/server.ts';
import { keepsDecoding, sentVideo } from './backup-codec-page.ts';
import { eventually, launchDemoBrowser, openDemo, recordPeerConnections } from './demo-page.ts';

/**
 * The backup codec in a room spanning two media workers (MEDIA_WORKERS=2, one participant of the
 * room per worker), with real browsers: Ann's Chromium sends its camera in H264 with a paused VP8
 * backup, homed on one worker; Sam's Chromium, which cannot take H264 (refuseH264), is homed on
 * the other. Sam's answer refuses the H264 camera, the server offers the VP8 backup instead,
 * relayed between the workers, and Sam decodes it; Ann sends the backup only while Sam is there,
 * and its relay goes when Sam leaves.
 */

/**
 * Runs in Sam's pages before their scripts: its connections reject every video section offered
 * to them in H264 alone (port 0, out of the BUNDLE group), so that its answers refuse H264 as
 * Firefox without its OpenH264 plugin refuses it (demo-backup-codec.test.ts). Chromium here has
 * H264 built in, and version 150 has no switch to turn it off.
 */
function refuseH264(): void {
  const reject = (sdp: string): string => {
    const [head = '', ...sections] = sdp.split(/\r\n(?=m=)/);
    const rejected = new Set<string>();
    const kept = sections.map((section) => {
      const codecs = [...section.matchAll(/a=rtpmap:\d+ ([\w-]+)\//g)].map((m) => m[1]!.toLowerCase());
      const h264Only = codecs.includes('h264') && codecs.every((c) => c === 'h264' || c === 'rtx');
      if (!/^m=video [1-9]/.test(section) || !h264Only) return section;
      rejected.add(/a=mid:(\S+)/.exec(section)?.[1] ?? '');
      return section.replace(/^m=video \d+/, 'm=video 0');
    });
    const group = head.replace(/a=group:BUNDLE( \S+)+/, (line) =>
      line
        .split(' ')
        .filter((mid, i) => i === 0 || !rejected.has(mid))
        .join(' '),
    );
    return [group, ...kept].join('\r\n');
  };
  type SetRemote = (this: RTCPeerConnection, description?: RTCSessionDescriptionInit) => Promise<void>;
  const native = RTCPeerConnection.prototype.setRemoteDescription as SetRemote;
  const wrapped: SetRemote = function (description) {
    if (description?.type !== 'offer' || !description.sdp) return native.call(this, description);
    return native.call(this, { type: 'offer', sdp: reject(description.sdp) });
  };
  RTCPeerConnection.prototype.setRemoteDescription =
    wrapped as typeof RTCPeerConnection.prototype.setRemoteDescription;
}

describe('backup codec across media workers: a Chromium refusing H264 gets the VP8 backup from the other worker', {
  timeout: 180_000,
}, () => {
  let server: TestServer;
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;

  before(async () => {
    server = await startTwoWorkerServer(1);
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('Sam, on the other worker, decodes Ann’s VP8 backup; the backup is relayed and sent only while Sam is there', async () => {
    const annContext = await chromium.newContext();
    const samContext = await chromium.newContext();
    try {
      await annContext.addInitScript(recordPeerConnections);
      await samContext.addInitScript(recordPeerConnections);
      await samContext.addInitScript(refuseH264);
      const room = 'backup-spanning';
      const ann = await openDemo(annContext, server.baseUrl, { room, name: 'Ann', codec: 'H264' });
      const sam = await openDemo(samContext, server.baseUrl, { room, name: 'Sam' });

      // Each is homed on its own worker: the room spans both.
      const pool = runningMediaWorkerPools()[0]!;
      const spanning = await eventually(
        () => server.sfu.dump(),
        (d) => d.rooms.some((r) => r.workers?.length === 2),
        'the room on both workers',
      );
      assert.deepEqual(
        pool.placement().map((w) => w.participants),
        [1, 1],
        `one participant per worker: ${JSON.stringify(spanning.rooms)}`,
      );

      await keepsDecoding(sam, 'Ann', 'video/VP8');
      const serving = await sentVideo(ann);
      assert.ok((serving['video/H264']?.packets ?? 0) > 0, 'Ann sends her camera in H264');
      assert.ok((serving['video/VP8']?.packets ?? 0) > 0, 'and the VP8 backup, which Sam needs');
      // Relays: Ann's audio, camera and backup to Sam's worker; Sam's audio and camera to Ann's.
      const relaying = await eventually(
        () => server.sfu.dump(),
        (d) => d.rooms.some((r) => r.relays === 5),
        'five relays between the workers',
      );
      const handover = relaying.handover!;
      assert.ok(handover.packetsReceived > 0 && handover.malformed === 0);
      // Ann decodes Sam's camera (VP8: Sam's browser has nothing else) across the workers too.
      await keepsDecoding(ann, 'Sam', 'video/VP8');

      await sam.click('#leave');
      await sam.close();
      await eventually(
        () => sentVideo(ann),
        (sent) => sent['video/VP8']?.active === false,
        "Ann's VP8 encodings switched off once Sam left",
      );
      await eventually(
        () => server.sfu.dump(),
        (d) => d.rooms.every((r) => r.relays === 0),
        'no relay left',
      );
    } finally {
      await samContext.close();
      await annContext.close();
    }
  });
});
