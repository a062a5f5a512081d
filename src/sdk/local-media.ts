/**
 * The local camera and microphone: opened once (the lobby preview), passed to the room, devices
 * switched in place (the room replaces the tracks on its sender without renegotiating).
 */

export type MediaAccessProblem = 'denied' | 'not_found' | 'in_use' | 'insecure' | 'other';

export class MediaAccessError extends Error {
  readonly problem: MediaAccessProblem;

  constructor(problem: MediaAccessProblem, message: string) {
    super(message);
    this.name = 'MediaAccessError';
    this.problem = problem;
  }
}

export interface CaptureOptions {
  /** true, false, or a deviceId. */
  audio?: boolean | string;
  video?: boolean | string;
  /** Capture size (default 1280×720, 30 fps). */
  width?: number;
  height?: number;
  frameRate?: number;
}

export interface DeviceList {
  audioInputs: MediaDeviceInfo[];
  videoInputs: MediaDeviceInfo[];
}

/** Turns getUserMedia's DOMException names into a problem the UI can explain. */
export function describeMediaError(err: unknown): MediaAccessError {
  if (err instanceof MediaAccessError) return err;
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  const message = err instanceof Error ? err.message : String(err);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MediaAccessError('denied', 'Camera or microphone permission was denied');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MediaAccessError('not_found', 'No camera or microphone was found');
    case 'NotReadableError':
    case 'AbortError':
      return new MediaAccessError('in_use', 'The camera or microphone is in use by another application');
    default:
      return new MediaAccessError('other', message || 'Could not open the camera or microphone');
  }
}

type TrackListener = (kind: 'audio' | 'video', track: MediaStreamTrack | null) => void;

export class LocalMedia {
  readonly stream: MediaStream;
  readonly #options: CaptureOptions;
  readonly #listeners = new Set<TrackListener>();

  private constructor(stream: MediaStream, options: CaptureOptions) {
    this.stream = stream;
    this.#options = options;
  }

  /** Opens the devices; throws a MediaAccessError (denied, not found, in use, insecure page). */
  static async open(options: CaptureOptions = {}): Promise<LocalMedia> {
    if (!globalThis.navigator?.mediaDevices?.getUserMedia) {
      throw new MediaAccessError(
        'insecure',
        'This page cannot use the camera: open it over https or on localhost (a secure context)',
      );
    }
    const audio = options.audio ?? true;
    const video = options.video ?? true;
    if (!audio && !video) return new LocalMedia(new MediaStream(), options);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(audio),
        video: videoConstraints(video, options),
      });
      return new LocalMedia(stream, options);
    } catch (err) {
      throw describeMediaError(err);
    }
  }

  static async devices(): Promise<DeviceList> {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audioInputs: all.filter((d) => d.kind === 'audioinput'),
      videoInputs: all.filter((d) => d.kind === 'videoinput'),
    };
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.stream.getAudioTracks()[0] ?? null;
  }

  get videoTrack(): MediaStreamTrack | null {
    return this.stream.getVideoTracks()[0] ?? null;
  }

  /** Opens `deviceId` for `kind` and replaces the current track (the room's sender follows). */
  async switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    let fresh: MediaStream;
    try {
      fresh = await navigator.mediaDevices.getUserMedia(
        kind === 'audio'
          ? { audio: audioConstraints(deviceId) }
          : { video: videoConstraints(deviceId, this.#options) },
      );
    } catch (err) {
      throw describeMediaError(err);
    }
    const track = kind === 'audio' ? fresh.getAudioTracks()[0]! : fresh.getVideoTracks()[0]!;
    const old = kind === 'audio' ? this.audioTrack : this.videoTrack;
    if (old) {
      track.enabled = old.enabled;
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    for (const listener of [...this.#listeners]) listener(kind, track);
  }

  onTrackReplaced(listener: TrackListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    for (const track of this.stream.getTracks()) track.stop();
  }
}

function audioConstraints(audio: boolean | string): boolean | MediaTrackConstraints {
  if (typeof audio === 'string') return { deviceId: { exact: audio } };
  return audio ? { echoCancellation: true, noiseSuppression: true } : false;
}

function videoConstraints(video: boolean | string, o: CaptureOptions): boolean | MediaTrackConstraints {
  if (video === false) return false;
  const size = {
    width: { ideal: o.width ?? 1280 },
    height: { ideal: o.height ?? 720 },
    frameRate: { ideal: o.frameRate ?? 30 },
  };
  return typeof video === 'string' ? { ...size, deviceId: { exact: video } } : size;
}
