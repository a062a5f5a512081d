import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzParser } from '../../../test/fuzz/byte-fuzz.ts';
import { corpusJson, corpusSeeds } from '../../../test/fuzz/corpus.ts';
import { isRtcp, isValidRtcp } from '../../rtp/rtp-packet.ts';
import { nativeAddon } from './native-addon.ts';
import { type SrtpFailure, type SrtpProfileId, SrtpSession } from './srtp-session.ts';

/**
 * Fuzz target: SRTP/SRTCP unprotect (RFC 3711, RFC 7714) as WebRtcTransport.handleSrtp runs it,
 * with the keys of the captured packets. A refusal is a returned SrtpFailure, never a throw; an
 * accepted packet's length is inside the input; and the native addon (when loaded) gives the same
 * answer and the same bytes as the JavaScript path, packet after packet (replay state included).
 */

const DEFAULT_RUNS = 3000;
const FAILURES = new Set<SrtpFailure>(['too_short', 'malformed', 'auth_failed', 'replayed', 'out_too_small']);
/** Bytes a length or count starts from: RTP's first byte (CC, X), RTCP's length, the extension length. */
const LENGTH_PREFIXES = [0x90, 0x9f, 0x81, 0xbe];

type Result = { length: number | SrtpFailure; bytes: Buffer };

/** As the transport does it: RTCP by payload type, checked for framing, then unprotected in place. */
function unprotect(session: SrtpSession, input: Uint8Array): Result {
  const packet = Buffer.from(input);
  let length: number | SrtpFailure;
  if (isRtcp(packet)) length = isValidRtcp(packet) ? session.unprotectRtcp(packet) : 'malformed';
  else length = session.unprotectRtp(packet);
  if (typeof length === 'number') {
    assert.ok(length >= 0 && length <= input.length, `${length} bytes out of ${input.length}`);
    return { length, bytes: packet.subarray(0, length) };
  }
  assert.ok(FAILURES.has(length), `unknown failure ${length}`);
  return { length, bytes: Buffer.alloc(0) };
}

function fuzzProfile(tag: string): void {
  const keys = corpusJson<{ profile: SrtpProfileId; key: string; salt: string }>('srtp', `${tag}-keys.json`);
  const session = (implementation: 'js' | 'native') =>
    new SrtpSession(
      keys.profile,
      Buffer.from(keys.key, 'hex'),
      Buffer.from(keys.salt, 'hex'),
      undefined,
      implementation,
    );
  const js = session('js');
  const native = nativeAddon() ? session('native') : undefined;
  const seeds = corpusSeeds('srtp', tag);
  fuzzParser(
    {
      parse: (bytes) => unprotect(js, bytes),
      isCleanError: () => false,
      check(bytes, result) {
        if (!native) return;
        const other = unprotect(native, bytes);
        assert.deepEqual(other, result, 'native and JavaScript agree');
      },
    },
    { seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
  );
  // The seeds themselves authenticate: the property reached the decryption, not only the checks.
  assert.ok(
    seeds.every((s) => typeof unprotect(session('js'), s).length === 'number'),
    'every seed authenticates with the captured keys',
  );
}

describe('SRTP/SRTCP unprotect fuzz target', () => {
  it('AES_CM_128_HMAC_SHA1_80: mutated SRTP and SRTCP are refused with a failure code, native and JavaScript agree', () => {
    fuzzProfile('aes-cm');
  });

  it('AEAD_AES_128_GCM: mutated SRTP and SRTCP are refused with a failure code, native and JavaScript agree', () => {
    fuzzProfile('gcm');
  });
});
