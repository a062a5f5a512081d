import { type Db, queryOne } from './db.ts';
import { toParticipant } from './rows.ts';
import { type NowSource, nowTimestamp, timestampParam } from './timestamps.ts';
import { type LiveRoom, type ParticipantRepository, ParticipantStatus } from './types.ts';

type Row = Record<string, unknown>;

/**
 * Participants rows. An inactive row (a dropped connection that may come back) has `deleted_at`
 * set to when it became inactive; the reconnect sweeper removes it after the grace period.
 */
export function createParticipantRepository(db: Db, clock?: NowSource): ParticipantRepository {
  return {
    async create({ roomId, userId, hidden = false }) {
      const row = await queryOne<Row>(
        db,
        'INSERT INTO participants (room_id, user_id, status, created_at, hidden) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [roomId, userId, ParticipantStatus.Active, nowTimestamp(clock), hidden ? 1 : 0],
      );
      return toParticipant(row as Row);
    },
    async findById(id) {
      const row = await queryOne<Row>(db, 'SELECT * FROM participants WHERE id = $1', [id]);
      return row ? toParticipant(row) : undefined;
    },
    async listByRoom(roomId, options = {}) {
      const filter = options.publishingOnly ? ' AND node_id IS NOT NULL' : '';
      const sql = `SELECT * FROM participants WHERE room_id = $1${filter} ORDER BY id`;
      return (await db.query<Row>(sql, [roomId])).map(toParticipant);
    },
    async setNode(id, nodeId) {
      await db.run('UPDATE participants SET node_id = $2 WHERE id = $1', [id, nodeId]);
    },
    async setStatus(id, status) {
      const inactiveSince = status === ParticipantStatus.Active ? null : nowTimestamp(clock);
      await db.run('UPDATE participants SET status = $2, deleted_at = $3 WHERE id = $1', [
        id,
        status,
        inactiveSince,
      ]);
    },
    async delete(id) {
      await db.run('DELETE FROM participants WHERE id = $1', [id]);
    },
    async deleteByNode(nodeId) {
      return (await db.run('DELETE FROM participants WHERE node_id = $1', [nodeId])).changes;
    },
    async deleteInactiveBefore(before) {
      const r = await db.run(
        'DELETE FROM participants WHERE status = $1 AND deleted_at IS NOT NULL AND deleted_at < $2',
        [ParticipantStatus.Inactive, timestampParam(before)],
      );
      return r.changes;
    },
    async deleteForUser(roomId, userId, options = {}) {
      const rows = await db.query<{ id: number }>(
        'DELETE FROM participants WHERE room_id = $1 AND user_id = $2 AND id <> $3 RETURNING id',
        [roomId, userId, options.exceptId ?? 0],
      );
      return rows.map((r) => Number(r.id));
    },
    async markAttached(id) {
      await db.run('UPDATE participants SET attached_at = $2 WHERE id = $1 AND attached_at IS NULL', [
        id,
        nowTimestamp(clock),
      ]);
    },
    async deleteNeverAttachedBefore(before) {
      const sql = 'DELETE FROM participants WHERE attached_at IS NULL AND created_at < $1';
      return (await db.run(sql, [timestampParam(before)])).changes;
    },
    async findLive(roomId, userId, inactiveSince) {
      const row = await queryOne<Row>(
        db,
        `SELECT * FROM participants WHERE room_id = $1 AND user_id = $2 AND (status = $3 OR deleted_at >= $4)
         ORDER BY id DESC LIMIT 1`,
        [roomId, userId, ParticipantStatus.Active, timestampParam(inactiveSince)],
      );
      return row ? toParticipant(row) : undefined;
    },
    async setMetadata(id, metadata) {
      await db.run('UPDATE participants SET metadata = $2 WHERE id = $1', [id, metadata]);
    },
    async listLiveRooms(limit) {
      const rows = await db.query<{ room_id: number; node_id: string | null; n: number }>(
        `SELECT room_id, node_id, COUNT(*) AS n FROM participants WHERE status = $1
         GROUP BY room_id, node_id ORDER BY room_id`,
        [ParticipantStatus.Active],
      );
      return liveRooms(rows).slice(0, limit);
    },
    async countActive() {
      const sql = 'SELECT COUNT(*) AS n FROM participants WHERE status = $1';
      const row = await queryOne<{ n: number }>(db, sql, [ParticipantStatus.Active]);
      return Number(row?.n ?? 0);
    },
  };
}

/** Rows of (room, node, count) → one LiveRoom per room, most participants first. */
function liveRooms(rows: Array<{ room_id: number; node_id: string | null; n: number }>): LiveRoom[] {
  const rooms = new Map<number, LiveRoom>();
  for (const row of rows) {
    const roomId = Number(row.room_id);
    let room = rooms.get(roomId);
    if (!room) {
      room = { roomId, participants: 0, nodeIds: [] };
      rooms.set(roomId, room);
    }
    room.participants += Number(row.n);
    if (row.node_id) room.nodeIds.push(String(row.node_id));
  }
  return [...rooms.values()].sort((a, b) => b.participants - a.participants || a.roomId - b.roomId);
}
