// The call page's egress controls for the room's host: "Go live" (HLS), "Record", "MoQ", the
// running and recently ended egresses with their links and a Stop button. Hidden when the server
// has no egress (501) or the caller is not the host (403). States come from GET …/egress, polled
// every 2 s while one runs (the SDK gets no room event for egress yet).
import { type EgressApi, type EgressJson, type EgressKind, HttpError } from '../src/sdk/index.ts';

/** What the controls know about the server, on `#egress[data-status]` (tests wait for it). */
export type EgressStatus = 'checking' | 'unavailable' | 'not-host' | 'ready';

export interface EgressControlsOptions {
  api: EgressApi;
  roomId: number;
  /** A refused or failed start/stop, for the page's banner. */
  onError(text: string): void;
}

const POLL_EVERY_TICKS = 2;
const LABELS: Record<EgressKind, string> = { hls: 'Live (HLS)', recording: 'Recording', moq: 'MoQ' };
const BUTTONS: Record<EgressKind, string> = { hls: 'go-live', recording: 'record', moq: 'moq' };

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

function isRunning(e: EgressJson): boolean {
  return e.state === 'starting' || e.state === 'active' || e.state === 'ending';
}

/** `mm:ss` (or `h:mm:ss`) since `from`. */
export function elapsed(from: number, to: number): string {
  const total = Math.max(0, Math.floor((to - from) / 1000));
  const s = String(total % 60).padStart(2, '0');
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The egress HTTP root of the node running it: its own, else this server's `/egress/`. */
function egressRoot(e: EgressJson): string {
  return e.baseUrl ?? `${location.origin}/egress/`;
}

/** The viewer page (served by the egress package) for an HLS or MoQ egress, or null. */
export function viewerUrl(e: EgressJson): string | null {
  const root = egressRoot(e);
  const viewer = new URL('watch.html', root);
  if (e.kind === 'hls' && e.urls[0]) {
    viewer.searchParams.set('hls', e.urls[0]);
    return viewer.toString();
  }
  if (e.kind === 'moq' && e.moqPath) {
    const endpoint = new URL('moq', root);
    endpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
    viewer.searchParams.set('moq', endpoint.toString());
    viewer.searchParams.set('path', e.moqPath);
    return viewer.toString();
  }
  return null;
}

function link(href: string, text: string, className: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  a.className = className;
  a.target = '_blank';
  a.rel = 'noopener';
  return a;
}

export class EgressControls {
  readonly #o: EgressControlsOptions;
  #list: EgressJson[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticks = 0;
  #closed = false;

  constructor(options: EgressControlsOptions) {
    this.#o = options;
    for (const kind of Object.keys(BUTTONS) as EgressKind[])
      $(BUTTONS[kind]).onclick = () => void this.#start(kind);
    this.#status('checking');
  }

  /** The first look: shows the controls when the server has egress and we are the host. */
  async open(): Promise<void> {
    await this.#refresh();
  }

  close(): void {
    this.#closed = true;
    this.#stopTimer();
    $('egress').hidden = true;
    $('egress-list').replaceChildren();
  }

  #status(status: EgressStatus): void {
    $('egress').dataset.status = status;
    $('egress').hidden = status !== 'ready';
    $('egress-list').hidden = status !== 'ready' || this.#list.length === 0;
  }

  /** 501 (no egress) and 403 (not the host) hide the controls: not errors for this user. */
  #refused(err: unknown): boolean {
    if (!(err instanceof HttpError) || (err.status !== 501 && err.status !== 403)) return false;
    this.#list = [];
    this.#stopTimer();
    this.#status(err.status === 501 ? 'unavailable' : 'not-host');
    return true;
  }

  async #refresh(): Promise<void> {
    let list: EgressJson[];
    try {
      list = await this.#o.api.listEgress(this.#o.roomId);
    } catch (err) {
      if (!this.#refused(err) && $('egress').dataset.status === 'checking') this.#status('unavailable');
      return;
    }
    if (this.#closed) return;
    this.#list = list;
    this.#status('ready');
    this.#render();
    // Poll while something runs; a quiet room costs no requests.
    if (list.some(isRunning)) this.#startTimer();
    else this.#stopTimer();
  }

  async #start(kind: EgressKind): Promise<void> {
    const button = $(BUTTONS[kind]) as HTMLButtonElement;
    button.disabled = true;
    try {
      await this.#o.api.startEgress(this.#o.roomId, { kind });
    } catch (err) {
      if (!this.#refused(err)) this.#o.onError(`${LABELS[kind]} did not start: ${(err as Error).message}`);
    }
    await this.#refresh();
  }

  async #stop(egressId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = 'Stopping…';
    try {
      await this.#o.api.stopEgress(this.#o.roomId, egressId);
    } catch (err) {
      if (!this.#refused(err)) this.#o.onError(`Stop failed: ${(err as Error).message}`);
    }
    await this.#refresh();
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), 1000);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    this.#ticks++;
    for (const el of document.querySelectorAll<HTMLElement>('#egress-list .elapsed'))
      el.textContent = elapsed(Number(el.dataset.since), Date.now());
    if (this.#ticks % POLL_EVERY_TICKS === 0)
      this.#refresh().catch(() => {
        // #refresh handles its own errors; nothing else can throw here.
      });
  }

  #render(): void {
    for (const kind of Object.keys(BUTTONS) as EgressKind[]) {
      const running = this.#list.some((e) => e.kind === kind && e.participantId === null && isRunning(e));
      const button = $(BUTTONS[kind]) as HTMLButtonElement;
      button.disabled = running;
      button.setAttribute('aria-pressed', String(running));
    }
    const items = [...this.#list].sort((a, b) => b.startedAt - a.startedAt).map((e) => this.#item(e));
    $('egress-list').replaceChildren(...items);
    $('egress-list').hidden = items.length === 0;
  }

  #item(e: EgressJson): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.egressId = e.egressId;
    li.dataset.kind = e.kind;
    li.dataset.state = e.state;
    const label = document.createElement('span');
    label.className = 'egress-label';
    label.textContent = `${LABELS[e.kind]} · ${e.state}${e.reason && !isRunning(e) ? ` (${e.reason})` : ''}`;
    li.append(label);
    if (e.kind === 'recording') {
      const time = document.createElement('span');
      time.className = isRunning(e) ? 'elapsed' : 'duration';
      time.dataset.since = String(e.startedAt);
      time.textContent = elapsed(e.startedAt, e.endedAt ?? Date.now());
      li.append(time);
    }
    li.append(...this.#links(e));
    if (isRunning(e)) {
      const stop = document.createElement('button');
      stop.type = 'button';
      stop.className = 'egress-stop';
      stop.textContent = e.state === 'ending' ? 'Stopping…' : 'Stop';
      stop.disabled = e.state === 'ending';
      stop.onclick = () => void this.#stop(e.egressId, stop);
      li.append(stop);
    }
    return li;
  }

  /** HLS: the playlist and a "watch" link; MoQ: a "watch" link; a stopped recording: its files. */
  #links(e: EgressJson): HTMLElement[] {
    const out: HTMLElement[] = [];
    const viewer = viewerUrl(e);
    if (e.kind === 'hls' && e.urls[0]) out.push(link(e.urls[0], e.urls[0], 'playlist'));
    if (viewer && isRunning(e)) out.push(link(viewer, 'Watch', 'watch'));
    if (e.kind === 'recording' && !isRunning(e))
      for (const url of e.urls) out.push(link(url, decodeURIComponent(url.split('/').pop() ?? url), 'file'));
    return out;
  }
}
