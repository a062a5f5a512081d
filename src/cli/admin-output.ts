/** Readable output of the admin commands (admin-command.ts): aligned tables, rates in kbit/s. */

// biome-ignore lint/suspicious/noExplicitAny: the server's JSON replies, read field by field.
type Json = any;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function kbps(bps: number): string {
  return `${Math.round(bps / 1000)} kbps`;
}

export function roomsTable(body: Json): string {
  const rooms: Json[] = body.rooms ?? [];
  if (rooms.length === 0) return 'No live rooms.';
  return table(
    ['ID', 'CODE', 'TITLE', 'PARTICIPANTS', 'NODE'],
    rooms.map((r) => [String(r.id), r.code, r.title, String(r.participants), r.nodeId ?? '-']),
  );
}

function layerOf(s: Json): string {
  return s.spatial < 0 ? `${s.participantId}` : `${s.participantId}:s${s.spatial}t${Math.max(0, s.temporal)}`;
}

export function participantsTable(body: Json): string {
  const room = body.room;
  const participants: Json[] = body.participants ?? [];
  const head = `Room ${room.id} (${room.code}) "${room.title}" on node ${body.nodeId ?? room.nodeId ?? '-'}: ${participants.length} participant(s)`;
  if (participants.length === 0) return head;
  const people = table(
    ['ID', 'USER', 'NAME', 'STATUS', 'IN', 'OUT', 'TRACKS', 'METADATA'],
    participants.map((p) => [
      p.id,
      p.userId === null ? '-' : String(p.userId),
      p.name ?? '-',
      p.status,
      kbps(p.bitrateInBps),
      kbps(p.bitrateOutBps),
      String(p.tracks.length),
      p.metadata ?? '-',
    ]),
  );
  const tracks = participants.flatMap((p) =>
    p.tracks.map((t: Json) => [
      p.id,
      t.trackId,
      t.kind,
      t.source,
      t.codec,
      t.rids.length > 0 ? t.rids.join(',') : String(t.layers),
      t.muted ? 'yes' : 'no',
      kbps(t.bitrateBps),
      t.subscribers.map(layerOf).join(' ') || '-',
    ]),
  );
  if (tracks.length === 0) return `${head}\n\n${people}`;
  const trackTable = table(
    ['PARTICIPANT', 'TRACK', 'KIND', 'SOURCE', 'CODEC', 'LAYERS', 'MUTED', 'BITRATE', 'SUBSCRIBERS (layer)'],
    tracks,
  );
  return `${head}\n\n${people}\n\n${trackTable}`;
}

/** One egress in a line: id, kind, state, whose, and its URLs (the reason once it ended). */
export function egressLine(e: Json): string {
  const whose = e.participantId ? `participant ${e.participantId}` : 'the room';
  const urls: string[] = e.urls ?? [];
  const reason = e.reason && (e.state === 'ended' || e.state === 'failed') ? ` (${e.reason})` : '';
  return `${e.kind} egress ${e.egressId} of ${whose}: ${e.state}${reason}${urls.length ? `\n  ${urls.join('\n  ')}` : ''}`;
}

export function egressTable(body: Json): string {
  const list: Json[] = Array.isArray(body) ? body : [];
  if (list.length === 0) return 'No egress in this room.';
  return table(
    ['ID', 'KIND', 'STATE', 'PARTICIPANT', 'NODE', 'URL'],
    list.map((e) => [
      e.egressId,
      e.kind,
      e.state,
      e.participantId ?? 'room',
      e.nodeId || '-',
      (e.urls ?? [])[0] ?? '-',
    ]),
  );
}
