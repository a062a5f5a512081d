// The demo page's call grid: one tile per participant and source (camera, screen), its video and
// its state (muted, video off, hand, speaking, connection quality).
import type { Participant, Room, TrackInfo } from '../src/sdk/index.ts';
import { session } from './demo-session.ts';
import { $, banner } from './page.ts';

export interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  stream: MediaStream;
}

export const tiles = new Map<string, Tile>();

export const tileKey = (participantId: string, source: string) => `${participantId}:${source}`;

export function ensureTile(participant: Participant, source: 'camera' | 'screen'): Tile {
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

export function removeTile(key: string): void {
  const tile = tiles.get(key);
  if (!tile) return;
  tile.video.srcObject = null;
  tile.el.remove();
  tiles.delete(key);
  updateCounts();
}

export function updateTileState(participant: Participant): void {
  for (const source of ['camera', 'screen']) {
    const tile = tiles.get(tileKey(participant.id, source));
    if (!tile) continue;
    tile.el.dataset.muted = String(!participant.state.audioEnabled);
    tile.el.dataset.videoOff = String(!participant.state.videoEnabled);
    tile.el.dataset.hand = String(participant.state.handRaising);
    // The room keeps the last reports, also those that came while joining.
    const speaking = session.room?.activeSpeakers.some((s) => s.participantId === participant.id) ?? false;
    tile.el.dataset.speaking = String(source === 'camera' && speaking);
    const quality = session.room?.connectionQuality(participant.id) ?? 'unknown';
    tile.el.dataset.quality = quality;
    const indicator = tile.el.querySelector('.quality')!;
    indicator.setAttribute('title', `Connection: ${quality}`);
    indicator.setAttribute('aria-label', `Connection: ${quality}`);
  }
}

export function participantById(id: string): Participant | null {
  if (session.room?.localParticipant?.id === id) return session.room.localParticipant;
  return session.room?.participants.get(id) ?? null;
}

export function updateCounts(): void {
  $('grid').dataset.count = String(tiles.size);
  const people = (session.room?.participants.size ?? 0) + 1;
  $('people-count').textContent = `${people} ${people === 1 ? 'person' : 'people'}`;
}

export function play(video: HTMLVideoElement): void {
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

export function onTrackAdded(info: TrackInfo): void {
  const participant = session.room?.participants.get(info.participantId);
  if (!participant) return;
  const tile = ensureTile(participant, info.source);
  for (const old of tile.stream.getTracks().filter((t) => t.kind === info.kind)) tile.stream.removeTrack(old);
  tile.stream.addTrack(info.track);
  // Re-assigning makes every browser pick up the new track.
  tile.video.srcObject = tile.stream;
  play(tile.video);
}

export function onTrackRemoved(info: TrackInfo): void {
  const key = tileKey(info.participantId, info.source);
  const tile = tiles.get(key);
  if (!tile) return;
  tile.stream.removeTrack(info.track);
  if (info.source === 'screen' && tile.stream.getVideoTracks().length === 0) removeTile(key);
}

export function showLocalTiles(r: Room): void {
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
  show('camera', session.local?.stream);
  show('screen', r.localScreenStream);
}
