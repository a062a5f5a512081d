/// <reference lib="dom" />
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { connectSocket, nextEvent } from './clients.ts';

export type VideoCodec = 'VP8' | 'H264' | 'VP9' | 'AV1';

export interface RemoteStats {
  framesDecoded: number;
  frameWidth: number;
  videoPacketsLost: number;
  audioPackets: number;
  audioPacketsLost: number;
  codec: string;
}

/**
 * What the participant needs of a browser tab; both playwright's Page (Chromium) and puppeteer's
 * Page (Firefox over WebDriver BiDi) have it, so the page script below is shared by both browsers.
 */
export interface ParticipantPage {
  goto(url: string): Promise<unknown>;
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

/**
 * A Waterbus client in SFU mode, as the Flutter SDK behaves: Node speaks the socket protocol, a
 * browser page (Chromium or Firefox) holds one publisher RTCPeerConnection and one subscriber
 * RTCPeerConnection per remote participant. It subscribes to whoever is announced
 * (`room.new_participant`) and closes that connection on `room.participant_left`.
 */
export class BrowserParticipant<P extends ParticipantPage = Page> {
  readonly socket: Socket;
  readonly page: P;
  readonly roomId: string;
  readonly participantId: string;
  readonly left = new Set<string>();
  /** Every socket event received since the socket connected, with its arrival time. */
  readonly events: Array<{ event: string; payload: unknown; atMs: number }> = [];
  /** One subscription per target, whether asked for by the test or by `room.new_participant`. */
  readonly #subscriptions = new Map<string, Promise<void>>();
  /** Offers for one target are answered one after the other, as a real client must. */
  readonly #answers = new Map<string, Promise<void>>();
  #streamingProtocol: number | undefined;

  private constructor(socket: Socket, page: P, roomId: string, participantId: string) {
    this.socket = socket;
    this.page = page;
    this.roomId = roomId;
    this.participantId = participantId;
    socket.onAny((event: string, payload: unknown) => this.events.push({ event, payload, atMs: Date.now() }));
  }

  static async join<P extends ParticipantPage = Page>(options: {
    baseUrl: string;
    token: string;
    /** Where the page opens: a playwright BrowserContext (Chromium) or a Firefox from test/support/firefox.ts. */
    context: { newPage(): Promise<P> };
    roomId: string;
    participantId: string;
    codec?: VideoCodec;
    simulcast?: boolean;
    /** One encoding with this SVC mode (e.g. 'L3T3_KEY' for AV1 or VP9); not with `simulcast`. */
    scalabilityMode?: string;
    width?: number;
    /** The microphone track's `enabled` (false sends silence); default true. */
    audioEnabled?: boolean;
    /**
     * Data channels as the Waterbus SDK opens them (test/media/data-channels.test.ts): its own
     * `track_quality` and `bbmeet-data`/`bbmeet-data-lossy` on the publisher connection, a
     * `track_quality` on each subscriber connection; what arrives is logged in `window.dcLog`.
     */
    dataChannels?: boolean;
    /**
     * Subscribe to whoever `room.new_participant` announces (default true, as the Waterbus SDK);
     * false leaves subscriptions to the test, e.g. to keep a capped link for one stream.
     */
    autoSubscribe?: boolean;
    /** `room.publish`'s `streamingProtocol` (1 HLS, 2 MoQ: the server starts that egress); absent by default. */
    streamingProtocol?: number;
  }): Promise<BrowserParticipant<P>> {
    const page = await options.context.newPage();
    // getUserMedia needs a secure context: loopback http is one.
    await page.goto(`${options.baseUrl}/healthz`);
    if (options.dataChannels) await page.evaluate(() => Object.assign(window, { withDataChannels: true }));
    const socket = await connectSocket(options.baseUrl, options.token);
    const p = new BrowserParticipant(socket, page, options.roomId, options.participantId);
    p.#streamingProtocol = options.streamingProtocol;
    if (options.autoSubscribe ?? true) {
      socket.on('room.new_participant', (msg: { participant: { id: number } }) => {
        void p.subscribe(String(msg.participant.id));
      });
    }
    socket.on('room.participant_left', (msg: { targetId: string }) => {
      p.left.add(msg.targetId);
      p.#subscriptions.delete(msg.targetId);
      void page.evaluate((id) => {
        const w = window as unknown as { subs: Record<string, RTCPeerConnection> };
        w.subs[id]?.close();
        delete w.subs[id];
      }, msg.targetId);
    });
    socket.on('room.subscriber_renegotiation', (msg: { targetId: string; sdp: string }) => {
      void p.#answerInTurn(msg.targetId, msg.sdp).catch(() => undefined);
    });
    await p.#publish(
      options.codec ?? 'VP8',
      options.simulcast ?? false,
      options.width ?? 320,
      options.audioEnabled,
      options.scalabilityMode,
    );
    return p;
  }

  async #publish(
    codec: VideoCodec,
    simulcast: boolean,
    width: number,
    audioEnabled = true,
    scalabilityMode: string | undefined = undefined,
  ): Promise<void> {
    const offer = await this.page.evaluate(
      async ({ codec, simulcast, width, audioEnabled, scalabilityMode }) => {
        const w = window as unknown as { pc: RTCPeerConnection; subs: Record<string, RTCPeerConnection> };
        w.subs = {};
        const stream = await navigator.mediaDevices.getUserMedia({
          video: { width, height: (width * 9) / 16, frameRate: 30 },
          audio: true,
        });
        stream.getAudioTracks()[0]!.enabled = audioEnabled;
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
        w.pc = pc;
        const encodings = simulcast
          ? [
              { rid: 'q', scaleResolutionDownBy: 4 },
              { rid: 'h', scaleResolutionDownBy: 2 },
              { rid: 'f', scaleResolutionDownBy: 1 },
            ]
          : scalabilityMode
            ? [{ scalabilityMode } as RTCRtpEncodingParameters]
            : undefined;
        const video = pc.addTransceiver(stream.getVideoTracks()[0]!, {
          direction: 'sendonly',
          streams: [stream],
          sendEncodings: encodings,
        });
        pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: 'sendonly', streams: [stream] });
        const codecs = RTCRtpSender.getCapabilities('video')!.codecs.filter(
          (c) => c.mimeType === `video/${codec}` || c.mimeType === 'video/rtx',
        );
        video.setCodecPreferences(codecs);
        const d = window as unknown as {
          withDataChannels?: boolean;
          dc: Record<string, RTCDataChannel>;
          dcLog: Array<{ on: string; label: string; data: string; binary: boolean; atMs: number }>;
        };
        if (d.withDataChannels) {
          d.dc = {};
          d.dcLog = [];
          const log = (on: string, channel: RTCDataChannel) => {
            channel.binaryType = 'arraybuffer';
            channel.onmessage = (e: MessageEvent) => {
              const binary = typeof e.data !== 'string';
              const data = binary ? new TextDecoder().decode(new Uint8Array(e.data as ArrayBuffer)) : e.data;
              d.dcLog.push({ on, label: channel.label, data, binary, atMs: Date.now() });
            };
          };
          d.dc.track_quality = pc.createDataChannel('track_quality');
          d.dc['bbmeet-data'] = pc.createDataChannel('bbmeet-data');
          d.dc['bbmeet-data-lossy'] = pc.createDataChannel('bbmeet-data-lossy', {
            ordered: false,
            maxRetransmits: 0,
          });
          for (const c of Object.values(d.dc)) log('pub', c);
          pc.ondatachannel = (e) => log('pub', e.channel);
        }
        await pc.setLocalDescription(await pc.createOffer());
        return pc.localDescription!.sdp;
      },
      { codec, simulcast, width, audioEnabled, scalabilityMode },
    );
    const answered = nextEvent<{ sdp: string }>(this.socket, 'room.publish', 10_000);
    this.socket.emit('room.publish', {
      sdp: offer,
      roomId: this.roomId,
      participantId: this.participantId,
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 2,
      connectionType: 1,
      ...(this.#streamingProtocol === undefined ? {} : { streamingProtocol: this.#streamingProtocol }),
    });
    const { sdp } = await answered;
    await this.page.evaluate(async (sdp) => {
      await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: 'answer', sdp });
    }, sdp);
  }

  /**
   * Subscribes to a remote participant (as after REST join or `room.new_participant`); a second
   * call for the same target joins the first instead of racing it with a second offer.
   */
  subscribe(targetId: string): Promise<void> {
    let pending = this.#subscriptions.get(targetId);
    if (!pending) {
      pending = this.#subscribeOnce(targetId);
      this.#subscriptions.set(targetId, pending);
      pending.catch(() => this.#subscriptions.delete(targetId));
    }
    return pending;
  }

  async #subscribeOnce(targetId: string): Promise<void> {
    const reply = nextEvent<{ offer: string; targetId: string }>(
      this.socket,
      'room.answer_subscriber',
      10_000,
      (reply) => String(reply.targetId) === targetId,
    );
    this.socket.emit('room.subscribe', { targetId, roomId: this.roomId, participantId: this.participantId });
    const { offer } = await reply;
    await this.#answerInTurn(targetId, offer);
  }

  #answerInTurn(targetId: string, offer: string): Promise<void> {
    const previous = this.#answers.get(targetId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#answer(targetId, offer));
    this.#answers.set(targetId, next);
    return next;
  }

  async #answer(targetId: string, offer: string): Promise<void> {
    const answer = await this.page.evaluate(
      async ({ targetId, offer }) => {
        const w = window as unknown as { subs: Record<string, RTCPeerConnection> };
        let pc = w.subs[targetId];
        if (!pc || pc.signalingState === 'closed') {
          pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
          w.subs[targetId] = pc;
        }
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        const d = window as unknown as { withDataChannels?: boolean; subDc?: Record<string, RTCDataChannel> };
        if (d.withDataChannels && !d.subDc?.[targetId] && offer.includes('m=application')) {
          d.subDc ??= {};
          d.subDc[targetId] = pc.createDataChannel('track_quality');
        }
        await pc.setLocalDescription(await pc.createAnswer());
        return pc.localDescription!.sdp;
      },
      { targetId, offer },
    );
    this.socket.emit('room.answer_subscriber', {
      roomId: this.roomId,
      targetId,
      sdp: answer,
      connectionType: 1,
    });
  }

  /** Mutes (silence is sent) or unmutes the published microphone track, as `track.enabled`. */
  async setAudioEnabled(enabled: boolean): Promise<void> {
    await this.page.evaluate((enabled) => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      for (const sender of pc.getSenders())
        if (sender.track?.kind === 'audio') sender.track.enabled = enabled;
    }, enabled);
  }

  /** Inbound stats of the connection receiving `targetId`, or undefined when there is none. */
  async statsFrom(targetId: string): Promise<RemoteStats | undefined> {
    return this.page.evaluate(async (targetId) => {
      const pc = (window as unknown as { subs: Record<string, RTCPeerConnection> }).subs[targetId];
      if (!pc) return undefined;
      const out = {
        framesDecoded: 0,
        frameWidth: 0,
        videoPacketsLost: 0,
        audioPackets: 0,
        audioPacketsLost: 0,
        codec: '',
      };
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          out.framesDecoded = s.framesDecoded ?? 0;
          out.frameWidth = s.frameWidth ?? 0;
          out.videoPacketsLost = s.packetsLost ?? 0;
          out.codec = (s.codecId ? stats.get(s.codecId)?.mimeType : '') ?? '';
        } else if (s.kind === 'audio') {
          out.audioPackets = s.packetsReceived ?? 0;
          out.audioPacketsLost = s.packetsLost ?? 0;
        }
      });
      return out;
    }, targetId);
  }

  /**
   * What this participant's camera encoder has done so far: frames encoded (all layers of a
   * frame count once with SVC, once per layer with simulcast) and why the encoder is limiting
   * itself now (`cpu` when the machine is too busy to encode at the full frame rate).
   */
  async encoderStats(): Promise<{ framesEncoded: number; qualityLimitationReason: string }> {
    return this.page.evaluate(async () => {
      const out = { framesEncoded: 0, qualityLimitationReason: 'none' };
      const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
        out.framesEncoded += s.framesEncoded ?? 0;
        if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none')
          out.qualityLimitationReason = s.qualityLimitationReason;
      });
      return out;
    });
  }

  /**
   * The simulcast layers this participant has sent (widths of those with bytes sent, ascending),
   * why its encoder limits itself now (`bandwidth`, `cpu` or `none`) and libwebrtc's send-side
   * bandwidth estimate (candidate pair `availableOutgoingBitrate`).
   */
  async sendingLayers(): Promise<{ widths: number[]; limitedBy: string; estimateBps: number }> {
    return this.page.evaluate(async () => {
      const out = { widths: [] as number[], limitedBy: 'none', estimateBps: 0 };
      const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated) out.estimateBps = s.availableOutgoingBitrate ?? 0;
        if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
        if ((s.bytesSent ?? 0) > 0 && s.frameWidth) out.widths.push(s.frameWidth);
        if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none')
          out.limitedBy = s.qualityLimitationReason;
      });
      out.widths.sort((a, b) => a - b);
      return out;
    });
  }

  /** Subscriber connections the page still has open, by remote participant. */
  async openSubscriptions(): Promise<string[]> {
    return this.page.evaluate(() =>
      Object.entries((window as unknown as { subs: Record<string, RTCPeerConnection> }).subs)
        .filter(([, pc]) => pc.connectionState !== 'closed')
        .map(([id]) => id),
    );
  }

  leave(): void {
    this.socket.emit('room.leave', { roomId: this.roomId });
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.page.close();
  }
}

/** The participant in Chromium (playwright), the name most media tests use. */
export const ChromiumParticipant = BrowserParticipant;
export type ChromiumParticipant = BrowserParticipant<Page>;

export async function waitFor<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await probe();
  }
  return last;
}

/**
 * Until the SFU holds nothing: no room (hence no publisher, subscription or down track) and no
 * transport. The leak check every media test ends with, as mediasoup's tests do with dump().
 */
export async function waitForEmptySfu(
  sfu: { dump(): Promise<{ rooms: unknown[]; transports: number }> },
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(
    () => sfu.dump(),
    (d) => d.rooms.length === 0 && d.transports === 0,
    'an empty SFU',
    timeoutMs,
  );
}
