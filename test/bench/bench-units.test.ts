import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { decodeLayersFile, encodeLayersFile, MEDIA_FIXTURE } from '../../bench/encoded-media.ts';
import { GOALS, goalsTable } from '../../bench/goals.ts';
import {
  buildRtp,
  extensionBlock,
  GOP_FRAMES,
  readStamp,
  rtpHeaderLength,
  SIMULCAST_720P,
  stampPacket,
  VideoLayerSource,
} from '../../bench/media-packets.ts';
import { publisherOffer, readRemoteDescription, subscriberAnswer } from '../../bench/sdp.ts';
import { latencyQuantileMs, parseLatencyBuckets } from '../../bench/server-latency.ts';
import { percentile } from '../../bench/stats.ts';
import { isVp8Keyframe, newVp8Descriptor, parseVp8 } from '../../src/rtp/codecs/vp8.ts';
import { parseRemoteDescription } from '../../src/transport/negotiation/parse.ts';

const LOCAL = { ufrag: 'abcd', pwd: 'p'.repeat(24), fingerprint: 'AA:BB' };

describe('bench: replayed media', () => {
  it('the committed VP8 fixture holds one group of pictures per simulcast layer, starting with a keyframe', async () => {
    const layers = decodeLayersFile(await readFile(MEDIA_FIXTURE));
    assert.deepEqual(Object.keys(layers).sort(), SIMULCAST_720P.map((l) => l.rid).sort());
    for (const frames of Object.values(layers)) {
      assert.equal(frames.length, GOP_FRAMES);
      assert.equal(frames[0]!.key, true);
      assert.equal(frames.filter((f) => f.key).length, 1);
    }
    const again = decodeLayersFile(encodeLayersFile(layers));
    assert.deepEqual(again, layers);
  });

  it('a truncated or foreign media file is refused with a clear error', async () => {
    const file = await readFile(MEDIA_FIXTURE);
    assert.throws(() => decodeLayersFile(file.subarray(0, 100)), /truncated/);
    assert.throws(() => decodeLayersFile(Buffer.from('not a media file')), /not a BBV8 media file/);
  });

  it('packetized frames carry VP8 descriptors the SFU parses: keyframe first, start bit on the first packet only', async () => {
    const layers = decodeLayersFile(await readFile(MEDIA_FIXTURE));
    for (const spec of SIMULCAST_720P) {
      const source = new VideoLayerSource(
        spec,
        layers[spec.rid]!.map((f) => ({ key: f.key, data: Buffer.from(f.data, 'base64') })),
      );
      for (const [index, expectKey] of [
        [0, true],
        [1, false],
      ] as const) {
        const payloads = source.frame(index, 1234 + index);
        const d = newVp8Descriptor();
        payloads.forEach((p, i) => {
          assert.ok(parseVp8(p, d), `${spec.rid} packet ${i} parses`);
          assert.equal(d.startOfPartition, i === 0);
          assert.equal(d.pictureId, 1234 + index);
        });
        assert.equal(isVp8Keyframe(payloads[0]!), expectKey, `${spec.rid} frame ${index}`);
        assert.ok(payloads.every((p) => p.length <= 1100));
      }
    }
  });

  it('synthetic frames (no fixture) still give the SFU a keyframe per group', () => {
    const source = new VideoLayerSource(SIMULCAST_720P[2]!);
    assert.equal(isVp8Keyframe(source.frame(0, 1)[0]!), true);
    assert.equal(isVp8Keyframe(source.frame(1, 2)[0]!), false);
  });

  it('the send timestamp survives in the last bytes of an RTP packet with header extensions', () => {
    const payload = Buffer.alloc(200);
    const packet = buildRtp({
      payloadType: 96,
      marker: true,
      seq: 65535,
      timestamp: 2 ** 32 - 1,
      ssrc: 0xdeadbeef,
      extensions: extensionBlock('v', 'f'),
      payload,
    });
    assert.equal(rtpHeaderLength(packet), 12 + 8);
    stampPacket(packet, 123456789012345n);
    assert.equal(readStamp(packet, packet.length), 123456789012345n);
    assert.equal(readStamp(Buffer.alloc(40), 40), undefined);
  });
});

describe('bench: SDP of the load peers', () => {
  it('the publisher offer is one the server accepts: simulcast q/h/f on VP8 and Opus', () => {
    const sdp = publisherOffer(
      LOCAL,
      { audio: { ssrc: 1 }, video: { ssrcs: [2, 3, 4], layers: SIMULCAST_720P } },
      's',
    );
    const desc = parseRemoteDescription(sdp);
    assert.deepEqual(desc.bundle, ['a', 'v']);
    const video = desc.media.find((m) => m.kind === 'video')!;
    assert.deepEqual(video.rids, ['q', 'h', 'f']);
    assert.equal(desc.iceUfrag, LOCAL.ufrag);
  });

  it('an audio-only offer is accepted too (letter mids)', () => {
    const desc = parseRemoteDescription(publisherOffer(LOCAL, { audio: { ssrc: 7 } }, 's'));
    assert.deepEqual(desc.bundle, ['a']);
  });

  it('reads a server offer and answers it recvonly, declining data channels', () => {
    const offer = [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      'a=group:BUNDLE 0 dc',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:srv1',
      'a=ice-pwd:serverpassword0123456789',
      'a=fingerprint:sha-256 11:22',
      'a=setup:actpass',
      'a=mid:0',
      'a=candidate:1 1 udp 2130706431 192.0.2.9 19200 typ host',
      'a=candidate:2 1 udp 2130706431 127.0.0.1 19200 typ host',
      'a=candidate:3 1 tcp 1518280447 192.0.2.9 19300 typ host tcptype passive',
      'a=candidate:4 1 tcp 1518280447 127.0.0.1 19300 typ host tcptype passive',
      'a=candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active',
      'a=sendonly',
      'a=rtpmap:96 VP8/90000',
      'a=rtpmap:97 rtx/90000',
      'a=ssrc:1111 cname:x',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=mid:dc',
      '',
    ].join('\r\n');
    const info = readRemoteDescription(offer);
    assert.deepEqual(info.candidates, [
      { ip: '127.0.0.1', port: 19200 },
      { ip: '192.0.2.9', port: 19200 },
    ]);
    // Passive TCP candidates beside the UDP ones (an active one cannot be connected to).
    assert.deepEqual(info.tcpCandidates, [
      { ip: '127.0.0.1', port: 19300 },
      { ip: '192.0.2.9', port: 19300 },
    ]);
    assert.deepEqual(info.sections[0]!.ssrcs, [1111]);
    const answer = parseRemoteDescription(subscriberAnswer(LOCAL, info, 'active'));
    assert.equal(answer.setup, 'active');
    assert.equal(answer.media[0]!.direction, 'recvonly');
    assert.equal(answer.media[1]!.port, 0);
  });

  it('a remote description without credentials, fingerprint or candidate is refused by name', () => {
    assert.throws(() => readRemoteDescription('v=0\r\nm=video 9 RTP 96\r\n'), /ICE credentials/);
    assert.throws(
      () => readRemoteDescription('v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=video 9 RTP 96\r\n'),
      /fingerprint/,
    );
    const head = 'v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\nm=video 9 RTP 96\r\n';
    assert.throws(() => readRemoteDescription(head), /host candidate/);
    // A server announcing ICE-TCP only (ICE_UDP_ENABLED=false) is read: the TCP mode can reach it.
    const tcpOnly = readRemoteDescription(
      `${head}a=candidate:1 1 tcp 1518280447 127.0.0.1 19300 typ host tcptype passive\r\n`,
    );
    assert.deepEqual(tcpOnly.candidates, []);
    assert.deepEqual(tcpOnly.tcpCandidates, [{ ip: '127.0.0.1', port: 19300 }]);
  });
});

describe('bench: report helpers', () => {
  it('percentile is nearest rank', () => {
    assert.equal(percentile([5, 1, 3, 2, 4], 0.5), 3);
    assert.equal(percentile([1, 2, 3, 4, 100], 0.99), 100);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  it('the goals table says met, or by how much a figure falls short', () => {
    const table = goalsTable({
      out_pps_per_core: 50_000,
      cpu_millicores_per_video_sub: 1.5,
      forwarding_alloc_bytes_per_packet: 12,
    });
    assert.match(table, /\| 50000 \| short: 3\.0× below the goal \|/);
    assert.match(table, /\| 1\.5 \| met \|/);
    assert.match(table, /\| 12 \| short: 12 above the goal \|/);
    assert.match(table, /\| – \| not measured \|/);
    const why = goalsTable({
      multicore_scaling_one_room: null,
      skipped: { multicore: 'this machine has 2 cores: the load generators would share them' },
    });
    assert.match(why, /2 media workers ÷ 1, one room .* \| – \| not measured: this machine has 2 cores \|/);
    const below = goalsTable({
      audio_room_capacity_listeners: null,
      skipped: { rooms_audio_room: "below 100 listeners: the server's limit at 100 (latency p99 63 ms)" },
    });
    assert.match(
      below,
      /audio room: listeners of 10 speakers \| ≥ 1000 \| – \| short: below 100 listeners \|/,
    );
    assert.equal(table.split('\n').length, 2 + GOALS.length);
  });
});

describe('bench: the server\u2019s own forwarding latency', () => {
  const exposition = (fast: number, slow: number, over: number) =>
    [
      '# TYPE bbmeet_media_forwarding_latency_seconds histogram',
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="0",le="0.001"} ${fast}`,
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="0",le="0.01"} ${fast + slow}`,
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="0",le="+Inf"} ${fast + slow + over}`,
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="1",le="0.001"} ${fast}`,
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="1",le="0.01"} ${fast}`,
      `bbmeet_media_forwarding_latency_seconds_bucket{worker="1",le="+Inf"} ${fast}`,
      'bbmeet_media_forwarding_latency_seconds_count{worker="0"} 1',
    ].join('\n');

  it('sums the workers\u2019 buckets and reads quantiles of the window between two scrapes', () => {
    const before = parseLatencyBuckets(exposition(10, 0, 0));
    assert.deepEqual(
      [...before.entries()],
      [
        [0.001, 20],
        [0.01, 20],
        [Number.POSITIVE_INFINITY, 20],
      ],
    );
    // In the window: 100 packets under 1 ms on each worker, 98 more within 1–10 ms, 2 above.
    const after = parseLatencyBuckets(exposition(110, 98, 2));
    // Rank 150 of 300, in the first bucket (0–1 ms) which holds 200: three quarters into it.
    assert.equal(latencyQuantileMs(before, after, 0.5), 0.75);
    const p99 = latencyQuantileMs(before, after, 0.99)!;
    assert.ok(p99 > 1 && p99 <= 10, `p99 ${p99} ms in the 1–10 ms bucket`);
    assert.equal(latencyQuantileMs(before, after, 1), 10, 'above every bound: the highest finite one');
    assert.equal(latencyQuantileMs(after, after, 0.5), null, 'nothing observed');
    assert.equal(latencyQuantileMs(new Map(), new Map(), 0.5), null, 'a server without the histogram');
  });

  it('reads another histogram by name (the subscribe steps of bench/first-frame.ts)', () => {
    const text = [
      exposition(5, 0, 0),
      'bbmeet_media_subscribe_connected_seconds_bucket{worker="0",le="0.25"} 3',
      'bbmeet_media_subscribe_connected_seconds_bucket{worker="0",le="+Inf"} 4',
    ].join('\n');
    assert.deepEqual(
      [...parseLatencyBuckets(text, 'bbmeet_media_subscribe_connected_seconds_bucket').entries()],
      [
        [0.25, 3],
        [Number.POSITIVE_INFINITY, 4],
      ],
    );
  });
});

describe('bench: the server process read from /proc', { skip: process.platform !== 'linux' }, () => {
  it('the media worker threads\u2019 nice value is read per thread (the main thread\u2019s is not it)', async () => {
    const { Worker } = await import('node:worker_threads');
    const { workerThreadsNice } = await import('../../bench/processes.ts');
    const os = await import('node:os');
    assert.equal(workerThreadsNice(process.pid), undefined, 'no worker thread yet');
    const mainNice = os.getPriority(0);
    const nice = Math.min(19, mainNice + 3);
    const worker = new Worker(
      `require('node:os').setPriority(0, ${nice}); require('node:worker_threads').parentPort.postMessage(1); setInterval(() => {}, 1000);`,
      { eval: true, name: 'media-0' },
    );
    try {
      await new Promise((resolve) => worker.once('message', resolve));
      assert.equal(workerThreadsNice(process.pid), nice);
      assert.equal(os.getPriority(0), mainNice, 'the main thread keeps its own');
    } finally {
      await worker.terminate();
    }
  });
});
