import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EgressStats } from '../../src/protocol/egress.ts';
import type { CreateEgress } from '../../src/sfu/egress-backend.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** An egress backend that runs nothing and reports the stats the test sets. */
function statsOnlyEgress(stats: () => EgressStats): CreateEgress {
  return async () => ({
    backend: {
      start: () => Promise.reject(new Error('not used')),
      stop: () => Promise.reject(new Error('not used')),
      list: () => [],
      onUpdate: () => undefined,
      close: async () => undefined,
      stats,
    },
    http: { handle: (_req, res) => res.writeHead(404).end(), upgrade: () => false },
  });
}

function metric(line: string): RegExp {
  return new RegExp(`^${line.replace(/[{}.]/g, (c) => `\\${c}`)}$`, 'm');
}

describe('/metrics: egress counters (dump)', () => {
  let server: TestServer;
  let stats: EgressStats = {
    active: { hls: 0, recording: 0, moq: 0 },
    segmentsWritten: 0,
    bytesWritten: 0,
    uploadErrors: 0,
    transcodeCpuSeconds: 0,
  };
  before(async () => {
    server = await startTestServer(
      { EGRESS_ENABLED: 'true' },
      { media: true, egress: statsOnlyEgress(() => stats) },
    );
  });
  after(() => server.close());

  async function scrape(): Promise<string> {
    const res = await fetch(`${server.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  }

  it('an embedded server with egress exposes bbmeet_egress_* from the dump, as it changes', async () => {
    const idle = await scrape();
    for (const line of [
      'bbmeet_egress_active{kind="hls"} 0',
      'bbmeet_egress_active{kind="recording"} 0',
      'bbmeet_egress_active{kind="moq"} 0',
      'bbmeet_egress_segments_total 0',
      'bbmeet_egress_bytes_total 0',
      'bbmeet_egress_upload_errors_total 0',
      'bbmeet_egress_transcode_cpu_seconds_total 0',
    ])
      assert.match(idle, metric(line), line);
    assert.match(idle, /^# TYPE bbmeet_egress_segments_total counter$/m);
    stats = {
      active: { hls: 2, recording: 1, moq: 0 },
      segmentsWritten: 42,
      bytesWritten: 1_234_567,
      uploadErrors: 3,
      transcodeCpuSeconds: 7.25,
    };
    const busy = await scrape();
    for (const line of [
      'bbmeet_egress_active{kind="hls"} 2',
      'bbmeet_egress_active{kind="recording"} 1',
      'bbmeet_egress_segments_total 42',
      'bbmeet_egress_bytes_total 1234567',
      'bbmeet_egress_upload_errors_total 3',
      'bbmeet_egress_transcode_cpu_seconds_total 7.25',
    ])
      assert.match(busy, metric(line), line);
  });
});

describe('/metrics: egress counters without egress', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { media: true });
  });
  after(() => server.close());

  it('a server without egress lists no active egress and counts nothing', async () => {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.doesNotMatch(text, /^bbmeet_egress_active\{/m);
    assert.match(text, /^bbmeet_egress_segments_total 0$/m);
  });
});
