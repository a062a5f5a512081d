// What a measured step is: the system under test, the load shape, the options runStep takes
// (bench/steps.ts) and the figures it returns.

import type { JoinPhases } from './load-process.ts';
import type { LayerWish } from './quality-request.ts';
import type { WorkerShare } from './worker-metrics.ts';

/** `bbmeet_tcp`: the BBMEET server with every load peer on ICE-TCP (RFC 6544) instead of UDP. */
export type System = 'bbmeet' | 'bbmeet_tcp' | 'raw_udp' | 'werift';

/** Whether the system is the BBMEET server (over either transport). */
export const isBbmeet = (system: System): boolean => system === 'bbmeet' || system === 'bbmeet_tcp';
/** webinar: one 3-layer simulcast publisher to N subscribers asking for a layer (bench/rooms.ts). */
export type Scenario = 'fanout' | 'meeting' | 'audio' | 'webinar';

export interface StepOptions {
  system: System;
  scenario: Scenario;
  /** fanout: total subscribers; meeting: participants; audio: listeners. */
  size: number;
  /** fanout: subscribers per publisher (0: one publisher to all). */
  fanout: number;
  /** audio: speakers. */
  speakers: number;
  /** The simulcast layer subscribers ask for over `track_quality` (webinar, meeting); none: the top one. */
  layer?: LayerWish | undefined;
  /** Load processes the subscribers are spread over (default 1; the publishers have their own). */
  loadProcesses?: number | undefined;
  warmupSeconds: number;
  seconds: number;
  sampleEvery: number;
  serverCores: string;
  loadCores: string;
  /** bbmeet: media workers of the server (MEDIA_WORKERS, default 1); with more than one, each
   * worker's share of the window is read from the server's /metrics (StepResult.workers). */
  mediaWorkers?: number;
  profileDir?: string | undefined;
  /** Encoded VP8 layers to replay (JSON file), else synthetic frames. */
  framesFile?: string | undefined;
  /**
   * The publishers send each frame at once, every publisher of a load process at the same phase
   * (--unpaced): the load before pacing (pacer.ts), for comparison. Default: paced as browsers send.
   */
  unpaced?: boolean | undefined;
  /** Called while the step runs (0..1 of the step, and what it is doing). */
  progress: (fraction: number, what: string) => void;
  /** bbmeet: runs while the load flows (e.g. Chromium viewers joining), before the window closes. */
  during?:
    | ((server: {
        baseUrl: string;
        apiKey: string;
        roomId: string;
        code: string;
        publisherId: string;
      }) => Promise<void>)
    | undefined;
}

export interface StepResult {
  system: System;
  scenario: Scenario;
  size: number;
  publishers: number;
  subscriptions: number;
  participants: number;
  seconds: number;
  in_pps: number;
  out_pps: number;
  /** Packets the subscribers received per second (out_pps without the lost ones). */
  delivered_pps: number;
  out_mbps: number;
  cpu_cores: number;
  out_pps_per_core: number;
  cpu_millicores_per_subscription: number;
  loss: number;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  latency_samples: number;
  /** The server's own forwarding latency (receive → copies sent, from its /metrics), ms. */
  server_latency_p50_ms: number | null;
  server_latency_p99_ms: number | null;
  join_first_rtp_p50_ms: number | null;
  join_first_rtp_p95_ms: number | null;
  rss_idle_mb: number | null;
  rss_loaded_mb: number | null;
  rss_mb_per_participant: number | null;
  join_failures: number;
  auth_failures: number;
  keyframe_requests: number;
  subscriptions_with_media: number;
  /** Datagrams the kernel dropped at the server's (or forwarder's) media socket during the window (null over ICE-TCP). */
  server_socket_drops: number | null;
  /** ICE-TCP links the load peers lost (stream error, closed by the server, bad framing); 0 over UDP. */
  stream_errors: number;
  /** Datagrams the kernel dropped for full receive / send buffers during the window (whole machine). */
  udp_rcvbuf_drops: number | null;
  udp_sndbuf_drops: number | null;
  /** CPU of the load generator processes: near the load cores' count, the load is the bottleneck. */
  load_cpu_cores: number;
  /** CPU the rest of the machine used during the window (the bench's orchestrator included); null off Linux. */
  other_cpu_cores: number | null;
  /** Wall time of joining every peer (after provisioning). */
  join_seconds: number;
  /** RTP packets/s the server wrote to subscribers (its own counter, /metrics); null if unread. */
  server_forwarded_pps: number | null;
  /** Subscriptions whose `track_quality` layer request went out. */
  layer_requests: number;
  /** Medians of subscribe → offer, ICE, DTLS (ms). */
  join_phase_p50_ms: JoinPhases;
  /** Media workers of the server (bbmeet), else 0. */
  media_workers: number;
  /** The media worker threads' nice value (MEDIA_WORKER_NICE where permitted); null: not read. */
  media_worker_nice: number | null;
  /** Each media worker's share of the window (bbmeet with more than one worker), else null. */
  workers: WorkerShare[] | null;
  /** Tracks relayed between workers, and their proxies, at the window's end (with workers). */
  relays: number | null;
  remote_tracks: number | null;
}
