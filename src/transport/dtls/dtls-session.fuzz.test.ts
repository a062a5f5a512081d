import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzBytes, fuzzRuns } from '../../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../../test/fuzz/corpus.ts';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls-certificate.ts';
import { DtlsSession } from './dtls-session.ts';

/**
 * Fuzz target: DTLS record framing (RFC 6347 §4.1) as DtlsSession hands datagrams to werift-dtls.
 * Whatever arrives, `handle()` neither throws nor lets werift leave an error unhandled (node:test
 * fails the file on one), returns promptly, and a session that failed reports it once through
 * onFailed. A failed session ignores everything after, so a fresh one takes the next inputs.
 */

const DEFAULT_RUNS = 1000;
const seeds = corpusSeeds('dtls');
/** Content types (handshake, alert, application data) followed by version, epoch, sequence and length. */
const LENGTH_PREFIXES = [0x16, 0x15, 0x17, 0x14];

describe('DTLS record fuzz target', () => {
  let certificate: DtlsCertificate;
  before(async () => {
    certificate = await generateDtlsCertificate();
  });

  it('a server session takes random, mutated and truncated records without throwing or hanging', async () => {
    let failures = 0;
    const fresh = (): { session: DtlsSession; failed: boolean } => {
      const state = { session: undefined as unknown as DtlsSession, failed: false };
      state.session = new DtlsSession({
        certificate,
        role: 'server',
        remoteFingerprints: ['00'],
        send: () => undefined,
        onConnected: () => assert.fail('no handshake can complete against a fingerprint of 00'),
        onFailed: () => {
          assert.equal(state.failed, false, 'onFailed is reported once');
          state.failed = true;
          failures++;
        },
      });
      return state;
    };
    let current = fresh();
    await fc.assert(
      fc.asyncProperty(
        fuzzBytes({ seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: 0 }),
        async (bytes) => {
          if (current.failed) {
            current.session.close();
            current = fresh();
          }
          const started = performance.now();
          current.session.handle(Buffer.from(bytes));
          await new Promise((resolve) => setImmediate(resolve));
          assert.ok(performance.now() - started < 1000, 'one record handled promptly');
        },
      ),
      { numRuns: fuzzRuns(DEFAULT_RUNS) },
    );
    current.session.close();
    assert.ok(failures > 0, 'malformed records fail the session, reported through onFailed');
  });
});
