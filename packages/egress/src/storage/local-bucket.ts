import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { DUMMY_ACCOUNT } from 's3rver/lib/models/account.js';
import type { StorageSettings } from './storage-options.ts';

/** What the bucket saw, in order: `put` for a created object (single or multipart), `delete`. */
export interface BucketEvent {
  type: 'put' | 'delete';
  key: string;
  /** A playlist's content as stored by this put (read as the put completes). */
  playlist?: string;
}

/**
 * A real S3-compatible server (s3rver) for tests: in process, on a free loopback port, storing in a
 * temporary directory, with credentials of the test's choosing. Anonymous GETs of
 * `<endpoint>/<bucket>/<key>` read objects back.
 */
export class LocalBucket {
  readonly events: BucketEvent[] = [];
  readonly storage: StorageSettings;
  readonly #server: S3rver;
  readonly #directory: string;

  private constructor(server: S3rver, directory: string, storage: StorageSettings) {
    this.#server = server;
    this.#directory = directory;
    this.storage = storage;
    server.on('event', (event) => {
      for (const record of event.Records) {
        const key = record.s3.object.key;
        if (record.eventName.startsWith('ObjectRemoved')) this.events.push({ type: 'delete', key });
        else if (!key.endsWith('.m3u8')) this.events.push({ type: 'put', key });
        else this.events.push({ type: 'put', key, playlist: this.#stored(key) });
      }
    });
  }

  static async start(
    credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  ): Promise<LocalBucket> {
    DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
    const directory = await mkdtemp(join(tmpdir(), 'bbmeet-s3-'));
    const bucket = 'egress';
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const storage = { endpoint, region: 'us-east-1', bucket, forcePathStyle: true, ...credentials };
    return new LocalBucket(server, directory, storage);
  }

  /** Reads an object from s3rver's store on disk, synchronously: the version this event is about. */
  #stored(key: string): string {
    const parts = key.split('/');
    const name = `${parts.pop()}._S3rver_object`;
    return readFileSync(join(this.#directory, this.storage.bucket, ...parts, name), 'utf8');
  }

  /** The object's bytes, or null when the bucket has no such key. */
  async read(key: string): Promise<Buffer | null> {
    const res = await fetch(`${this.storage.endpoint}/${this.storage.bucket}/${key}`);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`GET ${key}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Stops answering (connections refused from now on); the stored objects stay. */
  async stop(): Promise<void> {
    if (!this.#server.httpServer.listening) return;
    const closed = this.#server.close();
    this.#server.httpServer.closeAllConnections();
    await closed;
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.#directory, { recursive: true, force: true });
  }
}
