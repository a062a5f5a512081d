import { type Db, queryOne } from './db.ts';
import { placeholders, toMessage } from './rows.ts';
import { type NowSource, nowTimestamp, timestampParam } from './timestamps.ts';
import { type Message, type MessageRepository, MessageStatus } from './types.ts';

type Row = Record<string, unknown>;

export function createMessageRepository(db: Db, clock?: NowSource): MessageRepository {
  const one = async (d: Db, sql: string, params: unknown[]) => {
    const row = await queryOne<Row>(d, sql, params);
    return row ? toMessage(row) : undefined;
  };
  return {
    create: (input) =>
      // The original kept rooms.latest_message_* current with a trigger; here it is code, in the
      // same transaction, so both databases behave the same.
      db.transaction(async (tx) => {
        const now = nowTimestamp(clock);
        const message = (await one(
          tx,
          `INSERT INTO messages (data, created_by_id, room_id, type, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *`,
          [input.data, input.createdById, input.roomId, input.type, MessageStatus.Active, now],
        )) as Message;
        await tx.run(
          'UPDATE rooms SET latest_message_id = $2, latest_message_created_at = $3, updated_at = $3 WHERE id = $1',
          [input.roomId, message.id, now],
        );
        return message;
      }),
    findById: (id) => one(db, 'SELECT * FROM messages WHERE id = $1', [id]),
    update: (id, { data }) =>
      db.transaction(async (tx) => {
        const now = nowTimestamp(clock);
        const sql = 'UPDATE messages SET data = $2, updated_at = $3 WHERE id = $1 RETURNING *';
        const message = await one(tx, sql, [id, data, now]);
        if (message) {
          await tx.run('UPDATE rooms SET latest_message_created_at = $2, updated_at = $2 WHERE id = $1', [
            message.roomId,
            now,
          ]);
        }
        return message;
      }),
    // The original answered "deleted" without saving it; here the row keeps status and deleted_at.
    markDeleted: (id) =>
      one(db, 'UPDATE messages SET status = $2, deleted_at = $3, updated_at = $3 WHERE id = $1 RETURNING *', [
        id,
        MessageStatus.Inactive,
        nowTimestamp(clock),
      ]),
    async listByRoom(roomId, { skip, limit, after }) {
      const rows = after
        ? await db.query<Row>(
            `SELECT * FROM messages WHERE room_id = $1 AND created_at > $2
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`,
            [roomId, timestampParam(after), limit, skip],
          )
        : await db.query<Row>(
            'SELECT * FROM messages WHERE room_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3',
            [roomId, limit, skip],
          );
      return rows.map(toMessage);
    },
    async findManyByIds(ids) {
      const unique = [...new Set(ids)];
      if (unique.length === 0) return [];
      const rows = await db.query<Row>(
        `SELECT * FROM messages WHERE id IN (${placeholders(unique.length)}) ORDER BY id`,
        unique,
      );
      return rows.map(toMessage);
    },
  };
}
