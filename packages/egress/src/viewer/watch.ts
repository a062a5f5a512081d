// The egress viewer page (browser code, bundled by esbuild into dist/watch.js): plays a room's live
// HLS with hls.js in low-latency mode (`?hls=<master playlist URL>`) and shows how far behind the
// live edge it plays and how many frames it decoded; `?moq=<endpoint>&path=<broadcast>` links to
// the MoQ player (`moq-watch.html`). A room's master playlist (a variant per participant) gets a
// participant picker (room-participants.ts); a live playback that stops is recovered
// (live-watchdog.ts). State on `body[data-state]`: idle, loading, playing, error.
import Hls, { type ErrorData } from 'hls.js';
import { LiveWatchdog } from './live-watchdog.ts';
import { RoomParticipants } from './room-participants.ts';

/** A stream just started may have no playlist yet: retry this often before giving up. */
const MAX_RETRIES = 30;
const RETRY_MS = 2000;

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;
const video = $('video') as HTMLVideoElement;

function setState(state: 'idle' | 'loading' | 'playing' | 'error', text: string): void {
  document.body.dataset.state = state;
  $('status').textContent = text;
}

/** Chromium's count of decoded audio bytes (non-standard): proof that audio plays. */
function audioBytes(): number | null {
  const v = video as HTMLVideoElement & { webkitAudioDecodedByteCount?: number };
  return typeof v.webkitAudioDecodedByteCount === 'number' ? v.webkitAudioDecodedByteCount : null;
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)} s`;
}

function renderStats(hls: Hls | null, codecs: { video?: string; audio?: string }): void {
  $('stats').hidden = false;
  const live = hls?.latestLevelDetails?.live;
  $('latency').textContent = live === undefined ? '–' : live ? seconds(hls?.latency) : 'not live';
  const playing = hls?.playingDate;
  $('delay').textContent = playing ? seconds((Date.now() - playing.getTime()) / 1000) : '–';
  $('position').textContent = seconds(video.currentTime);
  $('video-info').textContent = video.videoWidth
    ? `${video.videoWidth}×${video.videoHeight}${codecs.video ? ` ${codecs.video}` : ''}`
    : '–';
  const quality = video.getVideoPlaybackQuality();
  $('frames').textContent =
    `${quality.totalVideoFrames - quality.droppedVideoFrames} (${quality.droppedVideoFrames} dropped)`;
  const bytes = audioBytes();
  const decoded = bytes === null ? '' : ` (${Math.round(bytes / 1024)} KiB decoded)`;
  $('audio-info').textContent = codecs.audio ? `${codecs.audio}${decoded}` : 'none';
}

const AUDIO_CODEC = /^(mp4a|opus|ac-3|ec-3|flac|mp3)/i;

/** One fMP4 with both tracks names its codecs together (`mp4a.40.2,avc1.42C00D`). */
function splitCodecs(list: string | undefined): { video?: string; audio?: string } {
  const codecs = (list ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const audio = codecs.filter((c) => AUDIO_CODEC.test(c)).join(',');
  const video = codecs.filter((c) => !AUDIO_CODEC.test(c)).join(',');
  return { ...(video ? { video } : {}), ...(audio ? { audio } : {}) };
}

/** Plays with sound when the browser allows it, else muted (the controls can unmute). */
function autoplay(): void {
  video.play().catch((err: unknown) => {
    if (!(err instanceof DOMException) || err.name !== 'NotAllowedError') return;
    video.muted = true;
    video.play().catch(() => {
      // Even muted playback refused: the user presses play on the controls.
    });
  });
}

function playWithHlsJs(url: string): { hls: Hls; room: RoomParticipants } {
  const codecs: { video?: string; audio?: string } = {};
  // fMP4/CMAF needs no transmuxing: no worker (and no blob: worker in the page's CSP). Why the
  // faster rate: hls.js otherwise plays at 1x wherever it started (often 2+ s behind the live
  // edge); up to 1.5x it catches up with its target latency (the playlist's PART-HOLD-BACK).
  const hls = new Hls({
    lowLatencyMode: true,
    enableWorker: false,
    backBufferLength: 30,
    maxLiveSyncPlaybackRate: 1.5,
  });
  let retries = 0;
  hls.on(Hls.Events.BUFFER_CODECS, (_event, data) => {
    const muxed = splitCodecs(data.audiovideo?.codec);
    codecs.video = data.video?.codec ?? muxed.video;
    codecs.audio = data.audio?.codec ?? muxed.audio;
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => autoplay());
  hls.on(Hls.Events.ERROR, (_event, data: ErrorData) => {
    if (!data.fatal) return;
    // A media error (a bad fragment) is recoverable in place; a playlist not there yet is retried.
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && retries++ < MAX_RETRIES) {
      setState('loading', `Waiting for the stream (${data.details})…`);
      setTimeout(() => hls.loadSource(url), RETRY_MS);
      return;
    }
    setState(
      'error',
      `Cannot play this stream: ${data.details}${data.error ? ` (${data.error.message})` : ''}`,
    );
    hls.destroy();
  });
  const watchdog = new LiveWatchdog(hls, video);
  const room = new RoomParticipants(hls, url, $('participants'), {
    jumpToLive: (reason) => watchdog.jumpToLive(reason),
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  setInterval(() => renderStats(hls, codecs), 500);
  return { hls, room };
}

function playHls(url: string): void {
  setState('loading', `Loading ${url}…`);
  video.addEventListener('playing', () => setState('playing', `Playing ${url}`));
  if (Hls.isSupported()) {
    (window as unknown as { viewer: { hls: Hls; room: RoomParticipants } }).viewer = playWithHlsJs(url);
    return;
  }
  // Safari plays HLS natively.
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = url;
    autoplay();
    setInterval(() => renderStats(null, {}), 500);
    return;
  }
  setState('error', 'This browser cannot play HLS (no Media Source Extensions).');
}

function linkMoq(endpoint: string | null, broadcast: string): void {
  const target = new URL('moq-watch.html', location.href);
  if (endpoint) target.searchParams.set('url', endpoint);
  target.searchParams.set('path', broadcast);
  ($('moq-link') as HTMLAnchorElement).href = target.toString();
  $('moq').hidden = false;
}

function main(): void {
  const params = new URLSearchParams(location.search);
  const hls = params.get('hls');
  const broadcast = params.get('path');
  if (broadcast) linkMoq(params.get('moq'), broadcast);
  if (hls) {
    playHls(new URL(hls, location.href).toString());
    return;
  }
  video.hidden = true;
  if (broadcast) {
    setState('idle', 'No HLS stream given: use the MoQ player.');
    return;
  }
  $('usage').hidden = false;
  setState('idle', 'Nothing to play.');
}

main();
