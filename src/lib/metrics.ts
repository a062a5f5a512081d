import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { unhandledRejectionCount } from './process-faults.ts';

/** What egress did since the process started (protocol/egress.ts EgressStats, by shape). */
export interface EgressCounters {
  active: Record<string, number>;
  segmentsWritten: number;
  bytesWritten: number;
  uploadErrors: number;
  transcodeCpuSeconds: number;
}

type EgressCounterName = Exclude<keyof EgressCounters, 'active'>;

/**
 * The server's Prometheus metrics, created once per process and handed to the modules that update
 * them. Gauges that mirror live state are read through callbacks at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDurationS: Histogram<'method' | 'route'>;
  readonly socketEvents: Counter<'event' | 'outcome'>;
  readonly socketFramesRejected: Counter<'reason'>;
  readonly socketConnections: Gauge;
  readonly socketConnectionsRefused: Counter<'reason'>;
  readonly rooms: Gauge;
  readonly participants: Gauge;
  readonly unhandledRejections: Gauge;
  readonly mediaObjects: Gauge<'kind'>;
  readonly egressActive: Gauge<'kind'>;
  readonly whipSessions: Counter<'outcome' | 'reason'>;
  readonly whepSessions: Counter<'outcome' | 'reason'>;
  /** Live media objects by kind, read at scrape time (set by the embedded role). */
  #mediaCounts: (() => Promise<Record<string, number>>) | undefined;
  /** Egress counters, read at scrape time (set by the embedded role; undefined: no egress). */
  #egress: (() => Promise<EgressCounters | undefined>) | undefined;

  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'bbmeet_' });
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'bbmeet_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDurationS = new Histogram({
      name: 'bbmeet_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.socketEvents = new Counter({
      name: 'bbmeet_socket_events_total',
      help: 'socket.io events received, by outcome (ok, rejected, failed, rate_limited)',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.socketFramesRejected = new Counter({
      name: 'bbmeet_socket_frames_rejected_total',
      help: 'socket.io frames rejected by the decoder (the sender is disconnected), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.socketConnections = new Gauge({
      name: 'bbmeet_socket_connections',
      help: 'connected socket.io clients',
      registers,
    });
    this.socketConnectionsRefused = new Counter({
      name: 'bbmeet_socket_connections_refused_total',
      help: 'socket.io connections refused, by reason (origin, unauthenticated_per_ip, per_user, per_ip)',
      labelNames: ['reason'],
      registers,
    });
    this.whipSessions = new Counter({
      name: 'bbmeet_whip_sessions_total',
      help: 'WHIP ingest sessions (RFC 9725) by outcome: started, ended (deleted, media_lost, evicted, taken_over, shutdown, left) and refused (by reason)',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.rooms = new Gauge({
      name: 'bbmeet_rooms',
      help: 'rooms with at least one connected participant',
      registers,
    });
    this.participants = new Gauge({
      name: 'bbmeet_participants',
      help: 'participants connected to signalling',
      registers,
    });
    this.unhandledRejections = new Gauge({
      name: 'bbmeet_process_unhandled_rejections',
      help: 'promise rejections no code handled since the process started (each is a bug; logged as "unhandled rejection")',
      registers,
      collect() {
        this.set(unhandledRejectionCount());
      },
    });
    const metrics = this;
    this.mediaObjects = new Gauge({
      name: 'bbmeet_media_objects',
      help: 'live media objects of this process (sfu.dump()) by kind: rooms, participants, publishers, subscriptions, down_tracks, transports, relays, remote_tracks, taps; all 0 once every participant left',
      labelNames: ['kind'],
      registers,
      async collect() {
        // A media worker that does not answer must not fail the whole scrape: the kinds are
        // left out, which a leak check reads as "unknown", never as empty.
        const counts = await metrics.#mediaCounts?.().catch(() => undefined);
        this.reset();
        for (const [kind, n] of Object.entries(counts ?? {})) this.set({ kind }, n);
      },
    });
    this.egressActive = new Gauge({
      name: 'bbmeet_egress_active',
      help: 'egresses of this process not yet ended, by kind (hls, recording, moq); absent without egress',
      labelNames: ['kind'],
      registers,
      async collect() {
        const stats = await metrics.#readEgress();
        this.reset();
        for (const [kind, n] of Object.entries(stats?.active ?? {})) this.set({ kind }, n);
      },
    });
    this.whepSessions = new Counter({
      name: 'bbmeet_whep_sessions_total',
      help: 'WHEP playback sessions by outcome (started, ended, refused) and reason (ended: deleted, consent_timeout, target_left, unavailable, shutdown; refused: unauthenticated, forbidden, not_found, unsupported_media_type, bad_offer, no_codec, unavailable, error)',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.#egressCounter('bbmeet_egress_segments_total', 'HLS segments written by egress', 'segmentsWritten');
    this.#egressCounter(
      'bbmeet_egress_bytes_total',
      'media bytes written by egress (HLS init segments, parts and segments; recording files)',
      'bytesWritten',
    );
    this.#egressCounter(
      'bbmeet_egress_upload_errors_total',
      'egress uploads to the bucket that failed after their retries',
      'uploadErrors',
    );
    this.#egressCounter(
      'bbmeet_egress_transcode_cpu_seconds_total',
      'CPU seconds (user + system) of the egress transcoders (ffmpeg children)',
      'transcodeCpuSeconds',
    );
  }

  /** A counter mirroring one egress counter of the dump (its value is the process's total). */
  #egressCounter(name: string, help: string, field: EgressCounterName): void {
    const metrics = this;
    new Counter({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const stats = await metrics.#readEgress();
        this.reset();
        if (stats) this.inc(stats[field]);
      },
    });
  }

  async #readEgress(): Promise<EgressCounters | undefined> {
    // Like the media objects: a dump that fails leaves the egress metrics out of this scrape.
    return this.#egress?.().catch(() => undefined);
  }

  /** Exposes `counts()` (read at each scrape) as `bbmeet_media_objects{kind}`. */
  watchMedia(counts: () => Promise<Record<string, number>>): void {
    this.#mediaCounts = counts;
  }

  /** Exposes `stats()` (read at each scrape) as the `bbmeet_egress_*` metrics. */
  watchEgress(stats: () => Promise<EgressCounters | undefined>): void {
    this.#egress = stats;
  }
}
