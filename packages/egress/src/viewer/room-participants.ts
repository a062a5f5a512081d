// The viewer's participant picker for a room's master playlist (browser code): one variant per
// participant, named by STABLE-VARIANT-ID (hls/room-master-playlist.ts). The chosen participant's
// level is pinned (hls.js would otherwise switch participants as bandwidth changes), and the
// master is fetched again every few seconds: hls.js, like every player, reads a master playlist
// once, so a participant who joined is listed from the refetch and played after a reload of the
// source, and a participant who left is replaced by the first one still listed.
import Hls from 'hls.js';

const REFRESH_MS = 3000;

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

export class RoomParticipants {
  readonly #hls: Hls;
  readonly #url: string;
  readonly #list: HTMLElement;
  #listed: string[] = [];
  #chosen: string | null = null;
  /** The master is one participant's stream: nothing to choose, nothing to refetch. */
  #single = false;

  constructor(hls: Hls, url: string, list: HTMLElement) {
    this.#hls = hls;
    this.#url = url;
    this.#list = list;
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.#pin());
    const refresh = () =>
      this.#refresh().catch(() => {
        // The master could not be fetched this time (network, a restart): tried again next tick.
      });
    refresh();
    setInterval(refresh, REFRESH_MS);
  }

  /** The participant playing (its id), and those the master lists now. */
  state(): { chosen: string | null; listed: string[] } {
    return { chosen: this.#chosen, listed: [...this.#listed] };
  }

  /** Plays `id`: its level when hls.js has it, else after reloading the master. */
  choose(id: string): void {
    this.#chosen = id;
    this.#render();
    if (this.#levelOf(id) >= 0) this.#pin();
    else this.#hls.loadSource(this.#url);
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
    this.#render();
    // The participant playing left: the first one still streaming plays instead.
    if (ids.length > 0 && (!this.#chosen || !ids.includes(this.#chosen))) this.choose(ids[0]!);
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
