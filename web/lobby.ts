// The demo page's lobby: name and room, device preview and choice, the join and its errors.
import {
  type Client,
  connect,
  ensureGuestRoom,
  guestLogin,
  HttpError,
  LocalMedia,
  MediaAccessError,
  type Room,
  SignallingError,
} from '../src/sdk/index.ts';
import { backupCodec, captureHeight, codec, relayOnly, session, simulcast } from './demo-session.ts';
import { $ } from './page.ts';

function slug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
}

export function randomRoom(): string {
  const letters = 'abcdefghijkmnpqrstuvwxyz';
  const pick = (n: number) =>
    Array.from({ length: n }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
  return `${pick(3)}-${pick(4)}-${pick(3)}`;
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

export async function openPreview(): Promise<void> {
  session.local?.stop();
  session.local = null;
  const camera = $<HTMLSelectElement>('camera-select').value;
  const mic = $<HTMLSelectElement>('mic-select').value;
  try {
    session.local = await LocalMedia.open({
      audio: mic || true,
      video: camera || true,
      height: captureHeight,
      width: Math.round((captureHeight * 16) / 9),
    });
    lobbyError(null);
  } catch (err) {
    // Maybe only one of them is missing or refused: try each alone before giving up.
    session.local = await LocalMedia.open({ audio: true, video: false }).catch(() => null);
    session.local ??= await LocalMedia.open({ audio: false, video: true, height: captureHeight }).catch(
      () => null,
    );
    lobbyError(err instanceof MediaAccessError ? mediaProblemText(err) : String(err));
  }
  $<HTMLVideoElement>('preview').srcObject = session.local?.stream ?? null;
  $('preview-empty').hidden = Boolean(session.local?.videoTrack) && session.camOn;
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
    session.local?.videoTrack?.getSettings().deviceId,
  );
  fill(
    ['mic-select', 'call-mic-select'],
    devices.audioInputs,
    session.local?.audioTrack?.getSettings().deviceId,
  );
}

export function applyLocalEnabled(): void {
  if (session.local?.audioTrack) session.local.audioTrack.enabled = session.micOn;
  if (session.local?.videoTrack) session.local.videoTrack.enabled = session.camOn;
  for (const [id, on] of [
    ['lobby-mic', session.micOn],
    ['lobby-cam', session.camOn],
    ['mic', session.micOn],
    ['cam', session.camOn],
  ] as const) {
    $(id).classList.toggle('on', on);
    $(id).setAttribute('aria-pressed', String(on));
  }
  $('preview-empty').hidden = Boolean(session.local?.videoTrack) && session.camOn;
}

/** Joins the room named in the lobby; `enterCall` shows the call once joined. */
export async function join(enterCall: (room: Room, code: string) => void): Promise<void> {
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
    session.client = await connect({ token: guest.token, apiKey: guest.apiKey });
    // Relay only without a TURN server would join a call whose media never connects.
    if (relayOnly && !(await hasTurnServer(session.client))) throw new Error(NO_TURN_TEXT);
    session.local ??= await LocalMedia.open({ audio: false, video: false });
    session.room = await session.client.join({
      code,
      media: session.local,
      audio: session.micOn,
      video: session.camOn,
      publish: { simulcast, codec, backupCodec },
      ...(relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    });
    (window as unknown as { bbmeet: unknown }).bbmeet = {
      room: session.room,
      client: session.client,
      local: session.local,
    };
    const url = new URL(location.href);
    url.searchParams.set('room', code);
    url.searchParams.set('name', name);
    url.searchParams.delete('autojoin');
    history.replaceState(null, '', url);
    enterCall(session.room, code);
  } catch (err) {
    session.client?.close();
    session.client = null;
    session.room = null;
    lobbyError(joinErrorText(err));
  } finally {
    $<HTMLButtonElement>('join').disabled = false;
  }
}
