import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzParser } from '../../../test/fuzz/byte-fuzz.ts';
import { corpusJson, corpusSeeds } from '../../../test/fuzz/corpus.ts';
import { IceLiteAgent } from './ice-lite-agent.ts';
import {
  parseStun,
  STUN_HEADER_BYTES,
  type StunMessage,
  StunType,
  stunErrorCode,
  stunXorMappedAddress,
  verifyFingerprint,
  verifyIntegrity,
} from './stun.ts';

/**
 * Fuzz target: STUN (RFC 8489) as the ICE-lite agent reads it. parseStun never throws (undefined is
 * its rejection); what it returns keeps its offsets inside the message; the verifiers, the
 * attribute readers and the agent's check handling never throw on any message it accepted.
 */

const DEFAULT_RUNS = 5000;
const seeds = corpusSeeds('stun');
const credentials = corpusJson<{ ufrag: string; pwd: string }>('stun', 'credentials.json');
/** Attribute types followed by a 16-bit length: USERNAME, MESSAGE-INTEGRITY, XOR-MAPPED-ADDRESS, ERROR-CODE. */
const LENGTH_PREFIXES = [0x06, 0x08, 0x20, 0x09, 0x80, 0x00];

function checkOffsets(msg: StunMessage, length: number): void {
  assert.equal(msg.raw.length, length);
  for (const at of [msg.integrityOffset, msg.fingerprintOffset]) {
    assert.ok(at === -1 || (at >= STUN_HEADER_BYTES && at + 4 <= length), `attribute at ${at} of ${length}`);
  }
  const x = msg.xorMappedAddressOffset;
  assert.ok(x === -1 || (x >= STUN_HEADER_BYTES + 4 && x <= length), `address at ${x} of ${length}`);
  assert.ok((msg.username?.length ?? 0) <= length);
}

describe('STUN fuzz target', () => {
  it('random, mutated and truncated STUN messages parse or are refused, and accepted ones verify without throwing', () => {
    fuzzParser(
      {
        parse: (bytes) => parseStun(Buffer.from(bytes)),
        isCleanError: () => false,
        check(bytes, msg) {
          if (!msg) return;
          checkOffsets(msg, bytes.length);
          verifyFingerprint(msg);
          verifyIntegrity(msg, credentials.pwd);
          stunErrorCode(msg);
          stunXorMappedAddress(msg);
        },
        maxRetainedFactor: 8,
      },
      { seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
    );
  });

  it('the ICE-lite agent answers, refuses or ignores every such check; an answer is a valid STUN response', () => {
    const agent = new IceLiteAgent();
    agent.localUfrag = credentials.ufrag;
    agent.localPwd = credentials.pwd;
    agent.setRemoteCredentials('peer');
    const from = { address: '192.0.2.7', port: 54_321, family: 'IPv4' as const };
    fuzzParser(
      {
        parse: (bytes) => {
          const msg = parseStun(Buffer.from(bytes));
          return msg && agent.handleCheck(msg, from, 1000);
        },
        isCleanError: () => false,
        check(_bytes, outcome) {
          if (!outcome || outcome.kind === 'ignored') return;
          const response = parseStun(outcome.response);
          assert.ok(response, 'the answer parses');
          assert.ok(verifyFingerprint(response));
          const expected = outcome.kind === 'response' ? StunType.BindingSuccess : StunType.BindingError;
          assert.equal(response.type, expected);
          if (outcome.kind === 'response') assert.deepEqual(stunXorMappedAddress(response), from);
        },
      },
      { seeds, lengthPrefixes: LENGTH_PREFIXES, defaultRuns: DEFAULT_RUNS },
    );
  });
});
