// The demo meeting page: lobby (name, room, device preview), call grid, controls, chat, stats.
// The SDK import resolves to the served bundle /sdk/bbmeet.js (see src/api/routes/web-app.ts).
import {
  type ChatMessage,
  type Client,
  type ConnectionStats,
  connect,
  ensureGuestRoom,
  formatBitrate,
  guestLogin,
  HttpError,
  LocalMedia,
  MediaAccessError,
  type Participant,
  type Room,
  SignallingError,
  type TrackInfo,
  type VideoCodec,
} from '../src/sdk/index.ts';
import { EgressControls } from './egress-controls.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const params = new URLSearchParams(location.search);
/** Capture height: ?res=180|360|720 (default 720). */
const captureHeight = Number(params.get('res') ?? 720) || 720;
const simulcast = params.get('simulcast') !== '0';
const codec = (params.get('codec')?.toUpperCase() ?? 'VP8') as VideoCodec;
/** ?backup=0: no VP8 backup of a camera in another codec (docs/sdk.md). */
const backupCodec = params.get('backup') !== '0';
/** ?relay=1: media only through the server's TURN relays (to try a TURN deployment). */
const relayOnly = params.get('relay') === '1';

let local: LocalMedia | null = null;
let client: Client | null = null;
let room: Room | null = null;
let micOn = true;
let camOn = true;
let leaving = false;
let unread = 0;
let statsTimer: ReturnType<typeof setInterval> | null = null;
let egress: EgressControls | null = null;

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

function slug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
}

function randomRoom(): string {
  const letters = 'abcdefghijkmnpqrstuvwxyz';
  const pick = (n: number) =>
    Array.from({ length: n }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
  return `${pick(3)}-${pick(4)}-${pick(3)}`;
}

let bannerTimer: ReturnType<typeof setTimeout> | null = null;
function banner(text: string | null, kind: 'info' | 'error' = 'info', hideAfterMs = 0): void {
  const el = $('banner');
  if (bannerTimer) clearTimeout(bannerTimer);
  el.hidden = text === null;
  el.textContent = text ?? '';
  el.classList.toggle('error', kind === 'error');
  if (text && hideAfterMs) bannerTimer = setTimeout(() => banner(null), hideAfterMs);
}

function showView(view: 'lobby' | 'call' | 'left'): void {
  for (const id of ['lobby', 'call', 'left']) $(id).hidden = id !== view;
}

function lobbyError(text: string | null): void {
  const el = $('lobby-error');
  el.hidden = text === null;
  el.textContent = text ?? '';
}

function mediaProblemText(err: MediaAccessError): string {
  switch (err.problem) {
    case 'denied':
      return 'Camera and microphone access was denied. Allow it in the address bar (camera icon) and reload, or join without them: others will still see and hear you once you allow it.';
    case 'not_found':
      return 'No camera or microphone was found. You can still join and watch.';
    case 'in_use':
      return 'Your camera or microphone is in use by another application.';
    case 'insecure':
      return 'This page is not a secure context: open it over https (or on localhost) to use the camera.';
    default:
      return `Could not open the camera or microphone: ${err.message}`;
  }
}

const NO_TURN_TEXT =
  'This page asks for relay-only media (?relay=1), but the server offers no TURN server (set TURN_URLS and TURN_SECRET).';

async function hasTurnServer(c: Client): Promise<boolean> {
  const servers = (await c.iceServers?.get()) ?? [];
  const urls = servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  return urls.some((u) => /^turns?:/.test(u));
}

function joinErrorText(err: unknown): string {
  if (err instanceof MediaAccessError) return mediaProblemText(err);
  if (err instanceof HttpError && err.status === 0)
    return `Cannot reach the server at ${location.origin}. Is it running? (${err.message})`;
  if (err instanceof HttpError && err.status === 404 && /guest/.test(err.message))
    return 'Guest login is disabled on this server (GUEST_LOGIN_ENABLED=false).';
  if (err instanceof SignallingError && err.code === 'unreachable')
    return `Cannot reach the server's signalling at ${location.origin}: ${err.message}`;
  if (err instanceof SignallingError && err.code === 'unauthenticated')
    return `The server refused the connection: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

// ── lobby ────────────────────────────────────────────────────────────────────────────────────

async function openPreview(): Promise<void> {
  local?.stop();
  local = null;
  const camera = $<HTMLSelectElement>('camera-select').value;
  const mic = $<HTMLSelectElement>('mic-select').value;
  try {
    local = await LocalMedia.open({
      audio: mic || true,
      video: camera || true,
      height: captureHeight,
      width: Math.round((captureHeight * 16) / 9),
    });
    lobbyError(null);
  } catch (err) {
    // Maybe only one of them is missing or refused: try each alone before giving up.
    local = await LocalMedia.open({ audio: true, video: false }).catch(() => null);
    local ??= await LocalMedia.open({ audio: false, video: true, height: captureHeight }).catch(() => null);
    lobbyError(err instanceof MediaAccessError ? mediaProblemText(err) : String(err));
  }
  $<HTMLVideoElement>('preview').srcObject = local?.stream ?? null;
  $('preview-empty').hidden = Boolean(local?.videoTrack) && camOn;
  applyLocalEnabled();
  await fillDeviceSelects();
}

async function fillDeviceSelects(): Promise<void> {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await LocalMedia.devices();
  const fill = (ids: string[], list: MediaDeviceInfo[], current: string | undefined) => {
    for (const id of ids) {
      const select = $<HTMLSelectElement>(id);
      select.replaceChildren(
        ...list.map(
          (d, i) => new Option(d.label || `Device ${i + 1}`, d.deviceId, false, d.deviceId === current),
        ),
      );
      select.disabled = list.length === 0;
    }
  };
  fill(
    ['camera-select', 'call-camera-select'],
    devices.videoInputs,
    local?.videoTrack?.getSettings().deviceId,
  );
  fill(['mic-select', 'call-mic-select'], devices.audioInputs, local?.audioTrack?.getSettings().deviceId);
}

function applyLocalEnabled(): void {
  if (local?.audioTrack) local.audioTrack.enabled = micOn;
  if (local?.videoTrack) local.videoTrack.enabled = camOn;
  for (const [id, on] of [
    ['lobby-mic', micOn],
    ['lobby-cam', camOn],
    ['mic', micOn],
    ['cam', camOn],
  ] as const) {
    $(id).classList.toggle('on', on);
    $(id).setAttribute('aria-pressed', String(on));
  }
  $('preview-empty').hidden = Boolean(local?.videoTrack) && camOn;
}

async function join(): Promise<void> {
  const name = $<HTMLInputElement>('name').value.trim();
  const code = slug($<HTMLInputElement>('room').value) || randomRoom();
  if (!name) {
    lobbyError('Please enter your name.');
    return;
  }
  localStorage.setItem('bbmeet.name', name);
  $<HTMLButtonElement>('join').disabled = true;
  lobbyError(null);
  try {
    const guest = await guestLogin({ name });
    await ensureGuestRoom({ token: guest.token, apiKey: guest.apiKey, code });
    client = await connect({ token: guest.token, apiKey: guest.apiKey });
    // Relay only without a TURN server would join a call whose media never connects.
    if (relayOnly && !(await hasTurnServer(client))) throw new Error(NO_TURN_TEXT);
    local ??= await LocalMedia.open({ audio: false, video: false });
    room = await client.join({
      code,
      media: local,
      audio: micOn,
      video: camOn,
      publish: { simulcast, codec, backupCodec },
      ...(relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    });
    (window as unknown as { bbmeet: unknown }).bbmeet = { room, client, local };
    const url = new URL(location.href);
    url.searchParams.set('room', code);
    url.searchParams.set('name', name);
    url.searchParams.delete('autojoin');
    history.replaceState(null, '', url);
    enterCall(room, code);
  } catch (err) {
    client?.close();
    client = null;
    room = null;
    lobbyError(joinErrorText(err));
  } finally {
    $<HTMLButtonElement>('join').disabled = false;
  }
}

// ── call ─────────────────────────────────────────────────────────────────────────────────────

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  stream: MediaStream;
}

const tiles = new Map<string, Tile>();
const tileKey = (participantId: string, source: string) => `${participantId}:${source}`;

function ensureTile(participant: Participant, source: 'camera' | 'screen'): Tile {
  const key = tileKey(participant.id, source);
  let tile = tiles.get(key);
  if (tile) return tile;
  const template = $<HTMLTemplateElement>('tile-template');
  const el = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  const video = el.querySelector('video')!;
  const stream = new MediaStream();
  el.dataset.participant = participant.id;
  el.dataset.source = source;
  el.dataset.local = String(participant.isLocal);
  el.dataset.name = participant.name;
  el.querySelector('.name')!.textContent = participant.isLocal
    ? `${participant.name} (you)${source === 'screen' ? ' · screen' : ''}`
    : `${participant.name}${source === 'screen' ? ' · screen' : ''}`;
  el.querySelector('.avatar')!.textContent = participant.name.slice(0, 1).toUpperCase();
  // Our own audio is never played back (echo).
  video.muted = participant.isLocal;
  video.srcObject = stream;
  tile = { el, video, stream };
  tiles.set(key, tile);
  const grid = $('grid');
  // Screens first, then people; the local tile last among the cameras.
  if (source === 'screen') grid.prepend(el);
  else grid.append(el);
  updateTileState(participant);
  updateCounts();
  return tile;
}

function removeTile(key: string): void {
  const tile = tiles.get(key);
  if (!tile) return;
  tile.video.srcObject = null;
  tile.el.remove();
  tiles.delete(key);
  updateCounts();
}

function updateTileState(participant: Participant): void {
  for (const source of ['camera', 'screen']) {
    const tile = tiles.get(tileKey(participant.id, source));
    if (!tile) continue;
    tile.el.dataset.muted = String(!participant.state.audioEnabled);
    tile.el.dataset.videoOff = String(!participant.state.videoEnabled);
    tile.el.dataset.hand = String(participant.state.handRaising);
    // The room keeps the last reports, also those that came while joining.
    const speaking = room?.activeSpeakers.some((s) => s.participantId === participant.id) ?? false;
    tile.el.dataset.speaking = String(source === 'camera' && speaking);
    const quality = room?.connectionQuality(participant.id) ?? 'unknown';
    tile.el.dataset.quality = quality;
    const indicator = tile.el.querySelector('.quality')!;
    indicator.setAttribute('title', `Connection: ${quality}`);
    indicator.setAttribute('aria-label', `Connection: ${quality}`);
  }
}

function participantById(id: string): Participant | null {
  if (room?.localParticipant?.id === id) return room.localParticipant;
  return room?.participants.get(id) ?? null;
}

function updateCounts(): void {
  $('grid').dataset.count = String(tiles.size);
  const people = (room?.participants.size ?? 0) + 1;
  $('people-count').textContent = `${people} ${people === 1 ? 'person' : 'people'}`;
}

function play(video: HTMLVideoElement): void {
  video.play().catch((err: unknown) => {
    // Autoplay with sound needs a user gesture: play muted and ask for a click.
    if (err instanceof DOMException && err.name === 'NotAllowedError' && !video.muted) {
      video.muted = true;
      void video.play().catch(() => undefined);
      banner('Click anywhere to turn the sound on');
      document.addEventListener(
        'click',
        () => {
          for (const t of tiles.values()) if (t.el.dataset.local !== 'true') t.video.muted = false;
          banner(null);
        },
        { once: true },
      );
    }
  });
}

function onTrackAdded(info: TrackInfo): void {
  const participant = room?.participants.get(info.participantId);
  if (!participant) return;
  const tile = ensureTile(participant, info.source);
  for (const old of tile.stream.getTracks().filter((t) => t.kind === info.kind)) tile.stream.removeTrack(old);
  tile.stream.addTrack(info.track);
  // Re-assigning makes every browser pick up the new track.
  tile.video.srcObject = tile.stream;
  play(tile.video);
}

function onTrackRemoved(info: TrackInfo): void {
  const key = tileKey(info.participantId, info.source);
  const tile = tiles.get(key);
  if (!tile) return;
  tile.stream.removeTrack(info.track);
  if (info.source === 'screen' && tile.stream.getVideoTracks().length === 0) removeTile(key);
}

function showLocalTiles(r: Room): void {
  const me = r.localParticipant!;
  const show = (source: 'camera' | 'screen', stream: MediaStream | null | undefined) => {
    if (!stream) {
      removeTile(tileKey(me.id, source));
      return;
    }
    const tile = ensureTile(me, source);
    // The local stream itself: it follows device switches.
    if (tile.video.srcObject !== stream) {
      tile.video.srcObject = stream;
      play(tile.video);
    }
  };
  show('camera', local?.stream);
  show('screen', r.localScreenStream);
}

function appendChat(message: ChatMessage): void {
  const li = document.createElement('li');
  li.dataset.local = String(message.isLocal);
  const sender = document.createElement('span');
  sender.className = 'sender';
  sender.textContent = message.isLocal ? 'You' : message.senderName;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  li.append(sender, text);
  $('chat-list').append(li);
  li.scrollIntoView({ block: 'end' });
  if ($('chat-panel').hidden && !message.isLocal) {
    unread++;
    $('chat-badge').hidden = false;
    $('chat-badge').textContent = String(unread);
  }
}

function enterCall(r: Room, code: string): void {
  showView('call');
  $('room-title').textContent = code;
  $('preview').removeAttribute('src');
  ($('preview') as HTMLVideoElement).srcObject = null;
  r.on('participantJoined', (p) => {
    ensureTile(p, 'camera');
    banner(`${p.name} joined`, 'info', 2500);
  });
  r.on('participantLeft', (p) => {
    removeTile(tileKey(p.id, 'camera'));
    removeTile(tileKey(p.id, 'screen'));
    banner(`${p.name} left`, 'info', 2500);
  });
  r.on('trackAdded', onTrackAdded);
  r.on('trackRemoved', onTrackRemoved);
  r.on('mediaStateChanged', ({ participant }) => {
    updateTileState(participant);
    if (participant.isLocal) {
      $('hand').setAttribute('aria-pressed', String(participant.state.handRaising));
      $('screen').setAttribute('aria-pressed', String(participant.state.screenSharing));
      showLocalTiles(r);
    }
  });
  r.on('chat', appendChat);
  let speakingIds: string[] = [];
  r.on('activeSpeakersChanged', ({ speakers }) => {
    const now = speakers.map((s) => s.participantId);
    for (const id of new Set([...speakingIds, ...now])) {
      const p = participantById(id);
      if (p) updateTileState(p);
    }
    speakingIds = now;
  });
  r.on('connectionQualityChanged', ({ participantId }) => {
    const p = participantById(participantId);
    if (p) updateTileState(p);
  });
  r.on('reconnecting', () => banner('Connection lost: reconnecting…'));
  r.on('reconnected', ({ rejoined }) => {
    banner(rejoined ? 'Reconnected (joined again)' : 'Reconnected', 'info', 2500);
    // Our participant id may have changed: redraw our own tiles.
    for (const key of [...tiles.keys()]) if (tiles.get(key)!.el.dataset.local === 'true') removeTile(key);
    showLocalTiles(r);
  });
  r.on('trackUnsupported', ({ participantId, trackId, kind, codec }) => {
    const p = participantById(participantId);
    if (!p) return;
    const source = p.state.screenSharing && p.state.screenTrackId === trackId ? 'screen' : 'camera';
    const note = ensureTile(p, source).el.querySelector<HTMLElement>('.unsupported')!;
    const name = codec.split('/')[1] ?? codec;
    note.textContent = `This browser cannot play ${p.name}'s ${kind === 'video' ? 'video' : 'audio'}: it does not decode ${name}.`;
    note.hidden = false;
    note.dataset.codec = codec;
  });
  r.on('error', (e) => banner(`${e.event ? `${e.event}: ` : ''}${e.message}`, 'error', 6000));
  r.on('stateChanged', ({ state }) => {
    document.body.dataset.state = state;
    if (state === 'left' && !leaving) showLeft('The connection to the server was lost.');
  });
  document.body.dataset.state = r.state;
  openEgressControls(r);
  showLocalTiles(r);
  for (const p of r.participants.values()) ensureTile(p, 'camera');
  updateCounts();
  void r
    .chatHistory()
    .then((messages) => {
      for (const m of messages) appendChat(m);
      unread = 0;
      $('chat-badge').hidden = true;
    })
    .catch(() => undefined);
}

/** Go live / record / MoQ for the host; hidden when the server has no egress or we are not the host. */
function openEgressControls(r: Room): void {
  egress?.close();
  egress = null;
  if (!client?.egress || r.roomId === null) return;
  egress = new EgressControls({
    api: client.egress,
    roomId: r.roomId,
    onError: (text) => banner(text, 'error', 6000),
  });
  egress.open().catch(() => {
    // open() answers every failure by hiding the controls; nothing is left to report.
  });
}

function showLeft(reason: string): void {
  if (statsTimer) clearInterval(statsTimer);
  statsTimer = null;
  egress?.close();
  egress = null;
  for (const key of [...tiles.keys()]) removeTile(key);
  client?.close();
  local?.stop();
  local = null;
  room = null;
  $('left-reason').textContent = reason;
  banner(null);
  showView('left');
}

async function leave(): Promise<void> {
  leaving = true;
  await room?.leave();
  showLeft('');
}

function renderStats(stats: Record<string, ConnectionStats>): void {
  for (const tile of tiles.values()) {
    const box = tile.el.querySelector<HTMLElement>('.tile-stats')!;
    const isLocal = tile.el.dataset.local === 'true';
    const s = stats[isLocal ? 'local' : tile.el.dataset.participant!];
    box.hidden = !s;
    if (!s) continue;
    const source = tile.video.srcObject as MediaStream | null;
    const trackId = source?.getVideoTracks()[0]?.id;
    const video = trackId ? s.videos[trackId] : undefined;
    const lines = [
      `${isLocal ? 'send' : 'recv'} ${formatBitrate(s.bitrate)}`,
      video?.width ? `${video.width}×${video.height} @${Math.round(video.framesPerSecond)}fps` : 'no video',
      `rtt ${s.roundTripTime === null ? '–' : `${Math.round(s.roundTripTime * 1000)} ms`}`,
      `loss ${(s.lossRate * 100).toFixed(1)}%`,
    ];
    box.textContent = lines.join('\n');
  }
}

function toggleStats(): void {
  const on = statsTimer === null;
  $('stats').setAttribute('aria-pressed', String(on));
  if (on) {
    const tick = () =>
      void room
        ?.getStats()
        .then(renderStats)
        .catch(() => undefined);
    tick();
    statsTimer = setInterval(tick, 1000);
  } else {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
    for (const tile of tiles.values()) tile.el.querySelector<HTMLElement>('.tile-stats')!.hidden = true;
  }
}

// ── wiring ───────────────────────────────────────────────────────────────────────────────────

function wire(): void {
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void join();
  });
  $('lobby-mic').addEventListener('click', () => {
    micOn = !micOn;
    applyLocalEnabled();
  });
  $('lobby-cam').addEventListener('click', () => {
    camOn = !camOn;
    applyLocalEnabled();
  });
  $('camera-select').addEventListener('change', () => void openPreview());
  $('mic-select').addEventListener('change', () => void openPreview());
  $('mic').addEventListener('click', () => {
    micOn = !micOn;
    applyLocalEnabled();
    void room?.setMicrophoneEnabled(micOn).catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  $('cam').addEventListener('click', () => {
    camOn = !camOn;
    applyLocalEnabled();
    void room?.setCameraEnabled(camOn).catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  $('screen').addEventListener('click', () => {
    const sharing = room?.localParticipant?.state.screenSharing;
    const action = sharing ? room?.stopScreenShare() : room?.startScreenShare();
    void action?.catch((e: unknown) => {
      const denied = e instanceof DOMException && e.name === 'NotAllowedError';
      banner(
        denied ? 'Screen sharing was cancelled or not allowed' : `Screen share failed: ${String(e)}`,
        'error',
        5000,
      );
    });
  });
  $('hand').addEventListener('click', () => {
    const raised = !room?.localParticipant?.state.handRaising;
    void room?.raiseHand(raised).catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  const toggleChat = () => {
    const panel = $('chat-panel');
    panel.hidden = !panel.hidden;
    $('chat').setAttribute('aria-pressed', String(!panel.hidden));
    if (!panel.hidden) {
      unread = 0;
      $('chat-badge').hidden = true;
      $('chat-input').focus();
    }
  };
  $('chat').addEventListener('click', toggleChat);
  $('chat-close').addEventListener('click', toggleChat);
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('chat-input');
    const text = input.value.trim();
    if (!text || !room) return;
    input.value = '';
    void room
      .sendChat(text)
      .catch((err: unknown) => banner(`Message not sent: ${String(err)}`, 'error', 5000));
  });
  $('stats').addEventListener('click', toggleStats);
  $('call-camera-select').addEventListener('change', (e) => {
    const id = (e.target as HTMLSelectElement).value;
    void local?.switchDevice('video', id).catch((err: unknown) => banner(String(err), 'error', 5000));
  });
  $('call-mic-select').addEventListener('change', (e) => {
    const id = (e.target as HTMLSelectElement).value;
    void local?.switchDevice('audio', id).catch((err: unknown) => banner(String(err), 'error', 5000));
  });
  $('copy-link').addEventListener('click', () => {
    const url = new URL(location.href);
    url.searchParams.delete('name');
    void navigator.clipboard
      ?.writeText(url.toString())
      .then(() => banner('Link copied', 'info', 2000))
      .catch(() => banner(url.toString(), 'info', 8000));
  });
  $('leave').addEventListener('click', () => void leave());
  $('rejoin').addEventListener('click', () => {
    const url = new URL(location.href);
    url.searchParams.delete('autojoin');
    location.href = url.toString();
  });
  window.addEventListener('beforeunload', () => {
    leaving = true;
    void room?.leave();
  });
}

async function main(): Promise<void> {
  wire();
  // The call's Room, for the console and tests: `bbmeet.room.setPreferredQuality(id, 'low')`.
  (window as unknown as { bbmeet: { readonly room: Room | null } }).bbmeet = {
    get room() {
      return room;
    },
  };
  $<HTMLInputElement>('name').value = params.get('name') ?? localStorage.getItem('bbmeet.name') ?? '';
  $<HTMLInputElement>('room').value = params.get('room') ?? randomRoom();
  await openPreview();
  if (params.get('autojoin') === '1') await join();
}

void main();
