import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import type { ImpairedNetwork } from '../support/impairment.ts';
import { type Chromium, startImpairedMediaSuite, stopImpairedMediaSuite } from '../support/media-suite.ts';
import { seriesValue } from '../support/prometheus-text.ts';
import type { TestServer } from '../support/server.ts';

const LOSS_PERCENT = 20;
/** Longer than libwebrtc's wait for a decodable frame (3 s) before it asks for a keyframe. */
const BLACKOUT_MS = 4000;
const LOST = 'bbmeet_media_receiver_report_fraction_lost';

/**
 * The media path metrics under real loss: a subscriber whose Chromium runs in a network namespace
 * losing all, then 20 %, of the UDP it receives (test/support/impairment.ts) asks for resends
 * (NACK) and keyframes (PLI), and its receiver reports say it loses packets; /metrics shows each of them move.
 */
describe('media path metrics of a call with loss', { timeout: 240_000 }, () => {
  let net: ImpairedNetwork;
  let server: TestServer;
  let call: RestCall;
  let local: Chromium;
  let impaired: Chromium;
  let impairedBaseUrl: string;
  const users: TestUser[] = [];
  const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
  /** A series summed over the workers (the room may be on any of them). */
  const read = (text: string, name: string, labels: Record<string, string> = {}) => {
    let sum = 0;
    for (let worker = 0; worker < 64 && text.includes(`worker="${worker}"`); worker++)
      sum += seriesValue(text, name, { worker: String(worker), ...labels });
    return sum;
  };
  /** Receiver report blocks that reported some loss (above the `le="0"` bucket). */
  const lossyReports = (text: string) =>
    read(text, `${LOST}_count`) - read(text, `${LOST}_bucket`, { le: '0' });

  before(async () => {
    ({ net, server, call, local, impaired, impairedBaseUrl } = await startImpairedMediaSuite());
    for (const name of ['sender', 'lossy']) users.push(await login(call, `loss-metrics-${name}`, name));
  });
  after(() => stopImpairedMediaSuite({ net, server, local, impaired }));

  it('a blackout and 20 % loss towards a subscriber moves the NACK, PLI and forwarded counters and the loss histogram', async (t) => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Loss metrics');
    const localContext = await local.newContext();
    const impairedContext = await impaired.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      const sender = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[0]!.token,
        context: localContext,
        roomId,
        participantId: pids[0]!,
      });
      people.push(sender);
      const lossy = await ChromiumParticipant.join({
        baseUrl: impairedBaseUrl,
        token: users[1]!.token,
        context: impairedContext,
        roomId,
        participantId: pids[1]!,
      });
      people.push(lossy);
      await lossy.subscribe(sender.participantId);
      await waitFor(
        () => lossy.statsFrom(sender.participantId),
        (s) => (s?.framesDecoded ?? 0) > 30,
        'the call running before the loss',
        30_000,
      );
      // The worker reports once a second: a scrape after the next report is the baseline.
      const first = await scrape();
      const start = await waitFor(
        scrape,
        (text) =>
          read(text, 'bbmeet_media_forwarded_packets_total') >
          read(first, 'bbmeet_media_forwarded_packets_total'),
        'a report made while media flowed',
      );
      const delta = (text: string, name: string, labels: Record<string, string> = {}) =>
        read(text, name, labels) - read(start, name, labels);
      // A near blackout (99 %) first: the frames it breaks are not all repaired, and Chromium asks for a
      // keyframe (PLI) once its decoder has waited long enough; then steady loss, repaired by NACKs.
      await net.loss(99);
      await new Promise((resolve) => setTimeout(resolve, BLACKOUT_MS));
      await net.loss(LOSS_PERCENT);
      const moved = (text: string) => ({
        forwarded: delta(text, 'bbmeet_media_forwarded_packets_total'),
        nacks: delta(text, 'bbmeet_media_nacks_total', { direction: 'received' }),
        retransmissions: delta(text, 'bbmeet_media_retransmissions_total'),
        plis: delta(text, 'bbmeet_media_keyframe_requests_total', { type: 'pli', direction: 'received' }),
        lossyReports: lossyReports(text) - lossyReports(start),
      });
      const lossWindow = await waitFor(
        async () => moved(await scrape()),
        (m) => m.forwarded > 0 && m.nacks > 0 && m.retransmissions > 0 && m.plis > 0 && m.lossyReports > 0,
        'NACK, retransmission, PLI, forwarded and loss histogram to move under loss',
        60_000,
      );
      // The counters may all have moved during the blackout already, so the window above can end
      // before the 20 % rule (its counter new) met a packet: its drops are awaited, bounded (a
      // fresh-clone run read 0 right after the window).
      const dropped = await waitFor(
        () => net.droppedPackets(),
        (n) => n > 0,
        `the namespace dropping packets under ${LOSS_PERCENT} % loss`,
        10_000,
      );
      assert.ok(dropped > 0, 'the namespace dropped packets');
      // The receiver reports made under the 20 % rule show loss. They come about once a second for
      // video and every 5 s for audio, and NACKs repair much of the video's loss before a report
      // counts it, so the reports are awaited (bounded) rather than read once: a fresh-clone run
      // that scraped right after the first drop read 12 reports, all from before the rule, at a
      // mean of 0.004.
      const lossBegan = await scrape();
      const sinceLossBegan = (text: string) => {
        const reports = read(text, `${LOST}_count`) - read(lossBegan, `${LOST}_count`);
        const lost = read(text, `${LOST}_sum`) - read(lossBegan, `${LOST}_sum`);
        return { reports, meanLoss: reports > 0 ? lost / reports : 0 };
      };
      const underLoss = await waitFor(
        async () => sinceLossBegan(await scrape()),
        (r) => r.meanLoss > 0.01,
        `receiver reports made under ${LOSS_PERCENT} % loss to show it (mean fraction lost above 0.01)`,
        30_000,
      );
      t.diagnostic(
        `after the blackout, under ${LOSS_PERCENT} % loss (${dropped} packets dropped when it was seen): ${JSON.stringify(lossWindow)}; ` +
          `then ${underLoss.reports} receiver report blocks at a mean fraction lost of ${underLoss.meanLoss.toFixed(3)}`,
      );
      assert.ok(
        underLoss.meanLoss > 0.01,
        `mean fraction lost ${underLoss.meanLoss} over ${underLoss.reports} reports`,
      );
      const text = await scrape();
      // The subscriber's RTT came from its receiver reports, and its estimate from its feedback.
      assert.ok(read(text, 'bbmeet_media_receiver_report_rtt_seconds_count') > 0, 'RTT observed');
      assert.ok(
        read(text, 'bbmeet_media_subscriber_estimate_bits_per_second_count') > 0,
        'estimate observed',
      );
      await net.clearLoss();
    } finally {
      for (const p of people) await p.close().catch(() => undefined);
      await localContext.close();
      await impairedContext.close();
    }
    await waitForEmptySfu(server.sfu);
  });
});
