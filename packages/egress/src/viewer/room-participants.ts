// The viewer's participant picker for a room's master playlist (browser code): one variant per
// participant, named by STABLE-VARIANT-ID (hls/room-master-playlist.ts). The chosen participant's
// level is pinned (hls.js would otherwise switch participants as bandwidth changes), and the
// master is fetched again every few seconds: hls.js, like every player, reads a master playlist
// once, so a participant who joined is listed from the refetch and played after a reload of the
// source, and a participant who left is replaced by the first one still listed.
//
// A participant who left is noticed first by its playlist ending (ENDLIST): hls.js then buffers
// to that end and ends the media (MediaSource.endOfStream()), and the element pauses once it
// played to the end; a level switched to after that would load and buffer but never play. So the
// participant playing is replaced as soon as its playlist ends (not at the next refetch), and
// once the replacement's first media is buffered the page jumps to its live edge and plays again
// (not before: a seek while the old media was still ended landed at 0 in Chromium).
import Hls, { type FragBufferedData, type LevelUpdatedData } from 'hls.js';

/** How often the master is fetched again. */
export const REFRESH_MS = 3000;

/** The participant ids a master playlist lists, in order (none: not a room's master). */
export function participantsOf(masterText: string): string[] {
  const ids: string[] = [];
  for (const line of masterText.split('\n')) {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const id = /(?:^|[:,])STABLE-VARIANT-ID="([^"]*)"/.exec(line)?.[1];
    if (id && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * Who plays when `leaving` stopped streaming: the first participant listed that is neither it nor
 * one whose playlist ended too; null when nobody is left.
 */
export function replacementFor(listed: string[], leaving: string, ended: ReadonlySet<string>): string | null {
  return listed.find((id) => id !== leaving && !ended.has(id)) ?? null;
}

export interface RoomParticipantsOptions {
  /** After a switch forced by a leaver, the new participant's media is buffered: play its live edge. */
  jumpToLive(reason: string): void;
}

export class RoomParticipants {
  readonly #hls: Hls;
  readonly #url: string;
  readonly #list: HTMLElement;
  readonly #options: RoomParticipantsOptions;
  #listed: string[] = [];
  /** Participants whose playlist ended (ENDLIST): they left, whether or not the master says so yet. */
  readonly #ended = new Set<string>();
  /** A leaver was replaced: jump to the live edge once the replacement's media is buffered. */
  #jumpPending = false;
  #chosen: string | null = null;
  /** The master is one participant's stream: nothing to choose, nothing to refetch. */
  #single = false;

  constructor(hls: Hls, url: string, list: HTMLElement, options: RoomParticipantsOptions) {
    this.#hls = hls;
    this.#url = url;
    this.#list = list;
    this.#options = options;
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.#pin());
    hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => this.#levelUpdated(data));
    hls.on(Hls.Events.FRAG_BUFFERED, (_event, data) => this.#fragBuffered(data));
    this.#refreshNow();
    setInterval(() => this.#refreshNow(), REFRESH_MS);
  }

  /** The participant playing (its id), and those the master lists now. */
  state(): { chosen: string | null; listed: string[] } {
    return { chosen: this.#chosen, listed: [...this.#listed] };
  }

  /** Plays `id`: its level when hls.js has it, else after reloading the master. */
  choose(id: string): void {
    this.#chosen = id;
    this.#jumpPending = false;
    this.#render();
    if (this.#levelOf(id) >= 0) this.#pin();
    else this.#hls.loadSource(this.#url);
  }

  #refreshNow(): void {
    this.#refresh().catch(() => {
      // The master could not be fetched this time (network, a restart): tried again next tick.
    });
  }

  /** A playlist of the level playing was loaded: did its participant leave? */
  #levelUpdated({ level, details }: LevelUpdatedData): void {
    const id = this.#hls.levels[level]?.attrs['STABLE-VARIANT-ID'];
    if (this.#single || !id) return;
    if (details.live) {
      this.#ended.delete(id);
      return;
    }
    this.#ended.add(id);
    if (id !== this.#chosen) return;
    const next = replacementFor(this.#listed, id, this.#ended);
    console.info('viewer: the participant playing ended its stream', { participant: id, next });
    if (next) this.#replace(next);
    // The master drops the leaver shortly: the list follows without waiting for the next tick.
    this.#refreshNow();
  }

  /** Media was buffered: the replacement's first, after a leaver, is the moment to jump. */
  #fragBuffered({ frag }: FragBufferedData): void {
    if (!this.#jumpPending || frag.type !== 'main') return;
    const id = this.#hls.levels[frag.level]?.attrs['STABLE-VARIANT-ID'];
    // Why only the chosen one's: media of the leaver may still land just after the switch.
    if (id !== this.#chosen) return;
    this.#jumpPending = false;
    this.#options.jumpToLive(`participant ${id} replaces a leaver`);
  }

  /** The participant playing left: `id` plays instead, from its live edge. */
  #replace(id: string): void {
    this.choose(id);
    this.#jumpPending = true;
  }

  #levelOf(id: string): number {
    return this.#hls.levels.findIndex((l) => l.attrs['STABLE-VARIANT-ID'] === id);
  }

  /** After a manifest was parsed, or a choice: the chosen participant's level, and nothing else. */
  #pin(): void {
    const ids = [...new Set(this.#hls.levels.map((l) => l.attrs['STABLE-VARIANT-ID'] ?? ''))];
    // Why: variants without the id are a single participant's stream, nothing to choose from.
    if (ids.length === 0 || ids.includes('')) {
      this.#single = true;
      return;
    }
    if (this.#listed.length === 0) this.#listed = ids;
    // Why the listed order first: hls.js sorts its levels by bitrate, the master lists by arrival.
    const first = this.#listed.find((id) => ids.includes(id)) ?? ids[0]!;
    if (!this.#chosen || this.#levelOf(this.#chosen) < 0) this.#chosen = first;
    const level = this.#levelOf(this.#chosen);
    if (this.#hls.currentLevel !== level) this.#hls.currentLevel = level;
    this.#render();
  }

  async #refresh(): Promise<void> {
    if (this.#single) return;
    const res = await fetch(this.#url, { cache: 'no-store' });
    if (!res.ok) return;
    const ids = participantsOf(await res.text());
    if (ids.join('\n') === this.#listed.join('\n')) return;
    this.#listed = ids;
    // A participant dropped and listed again streams anew: its old playlist's end is forgotten.
    for (const id of this.#ended) if (!ids.includes(id)) this.#ended.delete(id);
    this.#render();
    if (ids.length === 0 || (this.#chosen && ids.includes(this.#chosen))) return;
    if (!this.#chosen) {
      this.choose(ids[0]!);
      return;
    }
    // The participant playing left: the first one still streaming plays instead.
    const next = replacementFor(ids, this.#chosen, this.#ended);
    if (next) this.#replace(next);
  }

  #render(): void {
    this.#list.hidden = false;
    const buttons = this.#listed.map((id) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.participant = id;
      button.textContent = `Participant ${id}`;
      button.setAttribute('aria-pressed', String(id === this.#chosen));
      button.onclick = () => this.choose(id);
      return button;
    });
    if (buttons.length === 0) {
      const none = document.createElement('p');
      none.textContent = 'Nobody is streaming in this room now.';
      this.#list.replaceChildren(none);
      return;
    }
    this.#list.replaceChildren(...buttons);
  }
}
