/**
 * The room codec policy (ROOM_CODEC_POLICY): what each participant of a room is known to decode,
 * learned from its own SDP, and the video codec a publisher's answer picks so that everyone present
 * can decode it. An SFU forwards and never transcodes, so the choice is made once, when a video
 * section is answered. Pure bookkeeping: no I/O.
 */

import type { ParticipantId } from '../../lib/ids.ts';
import type { VideoCodecPicker } from '../../transport/negotiation/index.ts';

/**
 * `auto`: a publisher's video section is answered with the first codec of its order that every
 * participant present decodes (its first when there is none); `publisher`: always its first.
 */
export type RoomCodecPolicy = 'auto' | 'publisher';

/** What one participant is known to decode (video mime types, lower case). */
export interface DecodeProfile {
  decodes: ReadonlySet<string>;
  /** `decodes` is its whole list (its browser's video codecs, from an offer it made). */
  complete: boolean;
  /** Codecs it refused in an answer. */
  lacks: ReadonlySet<string>;
}

/** Whether `profile` is not known to lack `mimeType`. */
export function canDecode(profile: DecodeProfile, mimeType: string): boolean {
  const mime = mimeType.toLowerCase();
  if (profile.decodes.has(mime)) return true;
  return !profile.complete && !profile.lacks.has(mime);
}

/**
 * The codec of `candidates` (the publisher's order, codecs the SFU forwards) that every one of
 * `participants` can decode, the earliest first; without one, the publisher's first.
 */
export function chooseRoomCodec(
  candidates: readonly string[],
  participants: readonly DecodeProfile[],
): string | undefined {
  const common = candidates.find((c) => participants.every((p) => canDecode(p, c)));
  return common ?? candidates[0];
}

/** Video mime types of `codecs`, lower case, each once. */
function videoOnly(mimeTypes: Iterable<string>): Set<string> {
  const video = new Set<string>();
  for (const m of mimeTypes)
    if (/^video\//i.test(m) && !/\/(rtx|red|ulpfec|flexfec(-03)?)$/i.test(m)) video.add(m.toLowerCase());
  return video;
}

/** The decode profiles of a room's participants, by participant id. */
export class RoomCodecs {
  readonly #profiles = new Map<
    ParticipantId,
    { decodes: Set<string>; complete: boolean; lacks: Set<string> }
  >();

  /**
   * A participant's own offer (as a publisher or a WHEP viewer): the video codecs it lists are
   * what its browser supports. An offer without video says nothing.
   */
  learnOffer(participantId: ParticipantId, mimeTypes: Iterable<string>): void {
    const decodes = videoOnly(mimeTypes);
    if (decodes.size === 0) return;
    this.#profiles.set(participantId, { decodes, complete: true, lacks: new Set() });
  }

  /** A subscriber's answer: the video codecs it accepted and those it refused. */
  learnAnswer(participantId: ParticipantId, accepted: Iterable<string>, refused: Iterable<string>): void {
    let profile = this.#profiles.get(participantId);
    if (!profile) {
      profile = { decodes: new Set(), complete: false, lacks: new Set() };
      this.#profiles.set(participantId, profile);
    }
    for (const m of videoOnly(accepted)) {
      profile.decodes.add(m);
      profile.lacks.delete(m);
    }
    for (const m of videoOnly(refused)) if (!profile.decodes.has(m)) profile.lacks.add(m);
  }

  /**
   * Whether `participantId` is not known to lack a codec: what it is offered of a publisher that
   * sends a backup (backup-codecs.ts). Nothing known of it: it may decode anything.
   */
  decoder(participantId: ParticipantId): (mimeType: string) => boolean {
    return (mimeType) => {
      const profile = this.#profiles.get(participantId);
      return profile === undefined || canDecode(profile, mimeType);
    };
  }

  forget(participantId: ParticipantId): void {
    this.#profiles.delete(participantId);
  }

  /** The profiles of `present` other than `except` (a participant known to lack nothing has none). */
  profilesOf(present: Iterable<ParticipantId>, except: ParticipantId): DecodeProfile[] {
    const profiles: DecodeProfile[] = [];
    for (const id of new Set(present)) {
      const profile = this.#profiles.get(id);
      if (id !== except && profile) profiles.push(profile);
    }
    return profiles;
  }
}

/**
 * How `publisherId`'s video sections are answered: a section it already sends keeps its codec
 * (`current`, mid → mime type: its subscribers were offered that one); a new one follows `policy`
 * among the profiles of the participants `present`.
 */
export function roomVideoPicker(options: {
  policy: RoomCodecPolicy;
  codecs: RoomCodecs;
  present: Iterable<ParticipantId>;
  publisherId: ParticipantId;
  current?: ReadonlyMap<string, string> | undefined;
}): VideoCodecPicker {
  return (mid, candidates) => {
    const kept = options.current?.get(mid);
    if (kept !== undefined) return kept;
    if (options.policy === 'publisher') return undefined;
    return chooseRoomCodec(candidates, options.codecs.profilesOf(options.present, options.publisherId));
  };
}
