// The bench's command line: its --help text and the options it parses.

import { parseArgs } from 'node:util';
import type { Scenario } from './step-types.ts';

export const HELP = `bbmeet bench: load and benchmark tool of the media server.

Starts the server (bbmeet start, one media worker, on loopback) as a child process, drives load
from protocol-level peers in other processes (real ICE, DTLS and SRTP; pre-built VP8 720p 3-layer
simulcast and Opus replayed at real rates, send timestamps in the payload), reads the server's CPU
from the OS accounting (/proc), and reports. Server and load are pinned to different cores with
taskset when it is present.

Scenarios:
  fanout    one publisher to N subscribers per room (--fanout per room, default 16), swept over
            --subs total subscribers; also run on the two baselines: a raw dgram fan-out (no
            crypto) and a forwarder built on werift RTCPeerConnections; and once more on
            BBMEET with every load peer on ICE-TCP (RFC 6544, RFC 4571 framing) at the headline
            size (system bbmeet_tcp; ice_tcp_* in the summary)
  meeting   an N x N meeting: every participant publishes video+audio and receives all others
  audio     a large audio room: --speakers speakers (default 10), N listeners receiving them all
  signalling  the signalling side, each in its own measured window on the same pinned server:
            socket.io joins (rooms of clients entering and leaving: REST join + room.publish P2P
            + room.leave), chat (REST POST /chats to rooms whose members all hold a socket;
            messages in and chat.send deliveries out), the REST token route (POST /auth of a
            returning user) and join route (POST /rooms/:id/join), then a bare fastify GET route
            in its own process (same Node, same pinning): per core of server CPU, rates and
            p50/p99 latencies; the REST routes' ratio to the bare route (--duration and --warmup
            per window; with --quick at most 2 s and 0.5 s)
  rooms     the big rooms, each swept upward to its capacity (server-added loss ≤ 1 %, latency
            p99 ≤ 50 ms, server under one core) or until the load generator is the limit (then
            said, with an extrapolation labelled as one): a webinar (1 publisher of the 3-layer
            simulcast, N subscribers asking for the lowest layer over track_quality), an audio
            room (--speakers speakers, N listeners) and a meeting (N x N, medium layer)
  multicore the same load with 1 media worker and with 2, for one big room (one publisher, its
            subscribers on both workers, packets relayed between them) and for many rooms of
            1 → 8: with ≥ 4 cores and taskset, each raised from --subs (default 64) to
            --multicore-max-subs until it saturates (loss > 1 % or its cores full) and
            multicore_scaling_* = packets/s at saturation with 2 workers ÷ 1; on fewer cores
            skipped.multicore says why, and multicore_efficiency_* = delivered packets/s per server
            core with 2 workers ÷ 1 at --subs subscribers (default 128), in --multicore-rounds
            rounds of alternating order, medians
  all       fanout, meeting, audio, rooms, multicore and signalling (default; --quick leaves
            out rooms and multicore: their joins alone take minutes)
  egress    CPU per copied HLS stream (H264), per transcoded one (VP8 by ffmpeg) and per forwarded
            subscriber, on a server with egress on (needs npm run setup:egress; --scenario egress
            --help lists its options)
  soak      \`bbmeet bench soak --help\`: a bounded soak (30 min at 70 % of the measured capacity,
            participants joining and leaving all the time; RSS, event-loop delay, loss, leaks)

Options:
  --quick               small sizes and short steps (under a minute; what CI runs)
  --scenario <name>     fanout | meeting | audio | rooms | multicore | signalling | all
  --webinar <list>      rooms: webinar subscribers to sweep (default 250,500,1000; quick 8)
  --audio-room <list>   rooms: audio-room listeners to sweep (default 100,250,500,1000; quick 4)
  --meeting-room <list> rooms: meeting participants to sweep (default 10,16,25; quick 3)
  --subs <list>         sizes to sweep, comma-separated (fanout: subscribers, meeting:
                        participants, audio: listeners); default per scenario
  --fanout <n>          subscribers per publisher in the fanout scenario (0: one publisher to all)
  --speakers <n>        speakers of the audio room (default 10)
  --multicore-rounds <n>  multicore on < 4 cores: rounds of each configuration (default 3)
  --multicore-max-subs <n>  multicore on ≥ 4 cores: the largest size tried (default 2048)
  --duration <s>        measured seconds per step (default 10, quick 3)
  --warmup <s>          seconds of load before measuring (default 3, quick 1)
  --chromium-viewers <n>  Chromium viewers timing first RTP / first decoded frame, one after another, in a
                          repeat of the half-load fan-out step (default 20, for a p95; quick 5)
  --werift-subs <n>     subscribers of the werift baseline (default 32, quick 8)
  --no-chromium         no Chromium (synthetic frames; first_frame_* are null)
  --no-werift           skip the werift baseline
  --no-raw              skip the raw UDP baseline
  --no-tcp              skip the ICE-TCP fanout step (bbmeet_tcp)
  --unpaced             publishers send each video frame in one burst, every publisher of a load
                        process at the same phase (the load before pacing, for comparison);
                        default: paced at 2.5x the media rate at random frame phases, as browsers send
  --signalling-rooms <n>  signalling: rooms of the join phase (8 clients each) and of the chat
                        phase (10 members, 2 senders each) (default 25, quick 3)
  --http-connections <n>  signalling: keep-alive connections of the REST phases (default 32, quick 8)
  --profile             after the measured steps (which run as without it), profile the server
                        (node --cpu-prof) in passes of their own: the largest fanout step again
                        with a 5 s window (at most --duration; same warm-up), and the signalling
                        scenario's four server windows again, 2 s each after 0.5 s of warm-up (at
                        most --duration, --warmup); only their top costs are reported (profile_top,
                        signalling_profile_top; profile_pass, signalling_profile_pass say which
                        pass), no figure comes from them. Adds that step's joins and 5 s, and
                        the signalling setup and 4 × 2.5 s, to the run
  --out <file>          also write the JSON summary (pretty) to this file
  --encode-media        encode the replayed VP8 again with Chromium into bench/fixtures
  --write-md            update the results section of BENCHMARKS.md and docs/bench-forwarding.svg
  -h, --help            this help

After the steps, bench/forwarding-allocations.ts counts what the forwarding path allocates per
forwarded packet in a process of its own (forwarding_alloc_bytes_per_packet; BENCHMARKS.md).

Output: the JSON summary on ONE line on stdout; progress and notes on stderr.`;

/** What `--scenario` selects: the media steps' scenarios, and the signalling scenario. */
export type BenchScenario = Scenario | 'signalling' | 'rooms' | 'multicore';

export interface SignallingSizes {
  rooms: number;
  joinPerRoom: number;
  chatPerRoom: number;
  chatSenders: number;
  httpConnections: number;
}

export interface Options {
  quick: boolean;
  scenarios: BenchScenario[];
  signalling: SignallingSizes;
  fanoutSizes: number[];
  meetingSizes: number[];
  audioSizes: number[];
  webinarSizes: number[];
  audioRoomSizes: number[];
  meetingRoomSizes: number[];
  /** multicore: subscribers at the equal load (fewer than 4 cores) or the ladder's first size. */
  multicoreSubs: number | undefined;
  multicoreMaxSubs: number;
  multicoreRounds: number;
  fanout: number;
  speakers: number;
  duration: number;
  warmup: number;
  viewers: number;
  weriftSubs: number;
  chromium: boolean;
  werift: boolean;
  raw: boolean;
  tcp: boolean;
  unpaced: boolean;
  profile: boolean;
  out: string | undefined;
  writeMd: boolean;
  encodeMedia: boolean;
}

function numbers(list: string | undefined, name = 'subs'): number[] | undefined {
  if (list === undefined) return undefined;
  const out = list.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1))
    throw new TypeError(`--${name} wants positive integers separated by commas, got '${list}'`);
  return out;
}

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new TypeError(`--${name} wants a number ≥ ${min}, got '${value}'`);
  return n;
}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', default: 'all' },
      subs: { type: 'string' },
      fanout: { type: 'string' },
      speakers: { type: 'string' },
      webinar: { type: 'string' },
      'audio-room': { type: 'string' },
      'meeting-room': { type: 'string' },
      'multicore-rounds': { type: 'string' },
      'multicore-max-subs': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'chromium-viewers': { type: 'string' },
      'werift-subs': { type: 'string' },
      'signalling-rooms': { type: 'string' },
      'http-connections': { type: 'string' },
      'no-chromium': { type: 'boolean', default: false },
      'no-werift': { type: 'boolean', default: false },
      'no-raw': { type: 'boolean', default: false },
      'no-tcp': { type: 'boolean', default: false },
      unpaced: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      'write-md': { type: 'boolean', default: false },
      'encode-media': { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const scenario = values.scenario!;
  const valid = ['fanout', 'meeting', 'audio', 'rooms', 'multicore', 'signalling', 'all'];
  if (!valid.includes(scenario))
    throw new TypeError(`--scenario is one of ${valid.join(', ')}, got '${scenario}'`);
  const all: BenchScenario[] = quick
    ? ['fanout', 'meeting', 'audio', 'signalling']
    : ['fanout', 'meeting', 'audio', 'rooms', 'multicore', 'signalling'];
  const scenarios: BenchScenario[] = scenario === 'all' ? all : [scenario as BenchScenario];
  const subs = numbers(values.subs);
  const fanout = positive('fanout', values.fanout, 16, 0);
  return {
    quick,
    scenarios,
    signalling: {
      rooms: Math.floor(positive('signalling-rooms', values['signalling-rooms'], quick ? 3 : 25)),
      joinPerRoom: 8,
      chatPerRoom: 10,
      chatSenders: 2,
      httpConnections: Math.floor(positive('http-connections', values['http-connections'], quick ? 8 : 32)),
    },
    fanoutSizes: (scenario === 'fanout' && subs) || (quick ? [16] : [16, 64, 128, 256]),
    meetingSizes: (scenario === 'meeting' && subs) || (quick ? [3] : [4, 8]),
    audioSizes: (scenario === 'audio' && subs) || (quick ? [2] : [10, 30]),
    webinarSizes: numbers(values.webinar, 'webinar') ?? (quick ? [8] : [250, 500, 1000]),
    audioRoomSizes: numbers(values['audio-room'], 'audio-room') ?? (quick ? [4] : [100, 250, 500, 1000]),
    meetingRoomSizes: numbers(values['meeting-room'], 'meeting-room') ?? (quick ? [3] : [10, 16, 25]),
    multicoreSubs: scenario === 'multicore' ? subs?.[0] : undefined,
    multicoreMaxSubs: positive('multicore-max-subs', values['multicore-max-subs'], 2048),
    multicoreRounds: positive('multicore-rounds', values['multicore-rounds'], quick ? 1 : 3),
    fanout,
    speakers: positive('speakers', values.speakers, 10),
    duration: positive('duration', values.duration, quick ? 3 : 10),
    warmup: positive('warmup', values.warmup, quick ? 1 : 3, 0),
    viewers: positive('chromium-viewers', values['chromium-viewers'], quick ? 5 : 20, 0),
    weriftSubs: positive('werift-subs', values['werift-subs'], quick ? 8 : 32),
    chromium: !values['no-chromium'],
    werift: !values['no-werift'],
    raw: !values['no-raw'],
    tcp: !values['no-tcp'],
    unpaced: values.unpaced === true,
    profile: values.profile === true,
    out: values.out,
    writeMd: values['write-md'] === true,
    encodeMedia: values['encode-media'] === true,
  };
}
