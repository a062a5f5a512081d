// The demo meeting page: lobby (name, room, device preview), call grid, controls, chat, stats.
// The SDK import resolves to the served bundle /sdk/bbmeet.js (see src/api/routes/web-app.ts).
// This file shows the call and wires the controls; lobby.ts, tiles.ts, chat-panel.ts,
// call-stats.ts and egress-controls.ts hold the rest.
import type { Room } from '../src/sdk/index.ts';
import { stopStats, toggleStats } from './call-stats.ts';
import { appendChat, markAllRead, wireChat } from './chat-panel.ts';
import { params, session } from './demo-session.ts';
import { EgressControls } from './egress-controls.ts';
import { applyLocalEnabled, join, openPreview, randomRoom } from './lobby.ts';
import { $, banner, showView } from './page.ts';
import {
  ensureTile,
  onTrackAdded,
  onTrackRemoved,
  participantById,
  removeTile,
  showLocalTiles,
  tileKey,
  tiles,
  updateCounts,
  updateTileState,
} from './tiles.ts';

// ── call ─────────────────────────────────────────────────────────────────────────────────────

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
    if (state === 'left' && !session.leaving) showLeft('The connection to the server was lost.');
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
      markAllRead();
    })
    .catch(() => undefined);
}

/** Go live / record / MoQ for the host; hidden when the server has no egress or we are not the host. */
function openEgressControls(r: Room): void {
  session.egress?.close();
  session.egress = null;
  if (!session.client?.egress || r.roomId === null) return;
  session.egress = new EgressControls({
    api: session.client.egress,
    roomId: r.roomId,
    onError: (text) => banner(text, 'error', 6000),
  });
  session.egress.open().catch(() => {
    // open() answers every failure by hiding the controls; nothing is left to report.
  });
}

function showLeft(reason: string): void {
  stopStats();
  session.egress?.close();
  session.egress = null;
  for (const key of [...tiles.keys()]) removeTile(key);
  session.client?.close();
  session.local?.stop();
  session.local = null;
  session.room = null;
  $('left-reason').textContent = reason;
  banner(null);
  showView('left');
}

async function leave(): Promise<void> {
  session.leaving = true;
  await session.room?.leave();
  showLeft('');
}

// ── wiring ───────────────────────────────────────────────────────────────────────────────────

function wire(): void {
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void join(enterCall);
  });
  $('lobby-mic').addEventListener('click', () => {
    session.micOn = !session.micOn;
    applyLocalEnabled();
  });
  $('lobby-cam').addEventListener('click', () => {
    session.camOn = !session.camOn;
    applyLocalEnabled();
  });
  $('camera-select').addEventListener('change', () => void openPreview());
  $('mic-select').addEventListener('change', () => void openPreview());
  $('mic').addEventListener('click', () => {
    session.micOn = !session.micOn;
    applyLocalEnabled();
    void session.room
      ?.setMicrophoneEnabled(session.micOn)
      .catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  $('cam').addEventListener('click', () => {
    session.camOn = !session.camOn;
    applyLocalEnabled();
    void session.room
      ?.setCameraEnabled(session.camOn)
      .catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  $('screen').addEventListener('click', () => {
    const sharing = session.room?.localParticipant?.state.screenSharing;
    const action = sharing ? session.room?.stopScreenShare() : session.room?.startScreenShare();
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
    const raised = !session.room?.localParticipant?.state.handRaising;
    void session.room?.raiseHand(raised).catch((e: unknown) => banner(String(e), 'error', 5000));
  });
  wireChat();
  $('stats').addEventListener('click', toggleStats);
  $('call-camera-select').addEventListener('change', (e) => {
    const id = (e.target as HTMLSelectElement).value;
    void session.local?.switchDevice('video', id).catch((err: unknown) => banner(String(err), 'error', 5000));
  });
  $('call-mic-select').addEventListener('change', (e) => {
    const id = (e.target as HTMLSelectElement).value;
    void session.local?.switchDevice('audio', id).catch((err: unknown) => banner(String(err), 'error', 5000));
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
    session.leaving = true;
    void session.room?.leave();
  });
}

async function main(): Promise<void> {
  wire();
  // The call's Room, for the console and tests: `bbmeet.room.setPreferredQuality(id, 'low')`.
  (window as unknown as { bbmeet: { readonly room: Room | null } }).bbmeet = {
    get room() {
      return session.room;
    },
  };
  $<HTMLInputElement>('name').value = params.get('name') ?? localStorage.getItem('bbmeet.name') ?? '';
  $<HTMLInputElement>('room').value = params.get('room') ?? randomRoom();
  await openPreview();
  if (params.get('autojoin') === '1') await join(enterCall);
}

void main();
