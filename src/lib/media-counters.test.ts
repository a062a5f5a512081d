import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addMediaReports,
  dropsByReason,
  emptyMediaReport,
  mediaCounters,
  snapshotMediaCounters,
} from './media-counters.ts';

test('snapshotMediaCounters() is a copy: later increments do not change it', () => {
  const before = snapshotMediaCounters();
  mediaCounters.rtpPacketsReceived++;
  mediaCounters.rtpBytesReceived += 1200;
  const after = snapshotMediaCounters();
  assert.equal(after.rtpPacketsReceived - before.rtpPacketsReceived, 1);
  assert.equal(after.rtpBytesReceived - before.rtpBytesReceived, 1200);
  assert.deepEqual(Object.keys(after), Object.keys(mediaCounters));
});

test('addMediaReports() sums counters and drops, keeps the newer gauges and sums CPU time', () => {
  const retired = emptyMediaReport();
  retired.counters.forwardedPackets = 10;
  retired.drops.malformed = 3;
  retired.gauges.publishers = 7;
  retired.gauges.cpuSeconds = 1.5;
  const running = emptyMediaReport();
  running.counters.forwardedPackets = 4;
  running.drops.malformed = 2;
  running.gauges.publishers = 1;
  running.gauges.cpuSeconds = 0.25;
  const total = addMediaReports(retired, running);
  assert.equal(total.counters.forwardedPackets, 14);
  assert.equal(total.drops.malformed, 5);
  assert.equal(total.gauges.publishers, 1);
  assert.equal(total.gauges.cpuSeconds, 1.75);
  // The inputs are left as they were.
  assert.equal(retired.counters.forwardedPackets, 10);
});

test('addMediaReports() reads a missing or non-finite counter of a report as zero', () => {
  const other = emptyMediaReport();
  (other.counters as Record<string, number>).forwardedPackets = Number.NaN;
  delete (other.counters as Partial<Record<string, number>>).nacksSent;
  const total = addMediaReports(emptyMediaReport(), other);
  assert.equal(total.counters.forwardedPackets, 0);
  assert.equal(total.counters.nacksSent, 0);
});

test('dropsByReason() adds the transport malformed SRTP to the endpoint malformed datagrams', () => {
  const report = emptyMediaReport();
  report.drops.malformed = 2000;
  report.counters.droppedMalformedSrtp = 5;
  report.counters.droppedSrtpAuth = 3;
  report.drops.unknownPeer = 9;
  const drops = dropsByReason(report);
  assert.equal(drops.malformed, 2005);
  assert.equal(drops.srtp_auth, 3);
  assert.equal(drops.unknown_peer, 9);
  assert.equal(drops.replay, 0);
});
