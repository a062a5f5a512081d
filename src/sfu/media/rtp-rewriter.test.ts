import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerExtension } from '../../rtp/rtp-extensions.ts';
import { RtpRewriter, sharedExtensionIds } from './rtp-rewriter.ts';

function idMap(pairs: Array<[number, number]>): Uint8Array {
  const map = new Uint8Array(256);
  for (const [from, to] of pairs) map[from] = to;
  return map;
}

describe('sharedExtensionIds', () => {
  it('gives the first instance of a map for every map alike, and each distinct map its own', () => {
    const first = idMap([
      [1, 4],
      [3, 9],
    ]);
    assert.equal(sharedExtensionIds(first), first);
    const alike = idMap([
      [1, 4],
      [3, 9],
    ]);
    assert.equal(sharedExtensionIds(alike), first);
    const other = idMap([
      [1, 4],
      [3, 10],
    ]);
    assert.equal(sharedExtensionIds(other), other);
    assert.deepEqual([...sharedExtensionIds(alike)], [...alike]);
  });
});

describe('RtpRewriter.acceptExtensions', () => {
  /** An RTP packet with one-byte extensions: id 1 (2 bytes) and id 3 (1 byte), then a payload. */
  function packet(): { buffer: Buffer; headerBytes: number } {
    const ext = Buffer.from([0xbe, 0xde, 0x00, 0x02, 0x11, 0xaa, 0xbb, 0x30, 0xcc, 0x00, 0x00, 0x00]);
    const header = Buffer.alloc(12);
    header[0] = 0x90;
    header[1] = 96;
    return { buffer: Buffer.concat([header, ext, Buffer.from('payload')]), headerBytes: 24 };
  }
  const rewriter = () =>
    new RtpRewriter({
      ssrc: 5,
      payloadType: 96,
      rtx: undefined,
      extensionIds: idMap([
        [1, 7],
        [3, 5],
      ]),
      absSendTimeId: 0,
    });

  it('sends only the extensions the answer kept (the others become padding), for later sources too', () => {
    const { buffer, headerBytes } = packet();
    const out = Buffer.alloc(100);
    const r = rewriter();
    let n = r.rewrite(buffer, headerBytes, 1, 1, -1, false, out);
    assert.ok(headerExtension(out.subarray(0, n), 7), 'offered and not yet answered: sent');
    r.acceptExtensions(new Set([5]));
    n = r.rewrite(buffer, headerBytes, 2, 2, -1, false, out);
    assert.equal(headerExtension(out.subarray(0, n), 7), undefined, 'transport-cc declined: not sent');
    assert.deepEqual([...headerExtension(out.subarray(0, n), 5)!], [0xcc]);
    assert.equal(out.subarray(0, n).toString('latin1').endsWith('payload'), true);
    r.setExtensions(idMap([[1, 7]]), 0);
    n = r.rewrite(buffer, headerBytes, 3, 3, -1, false, out);
    assert.equal(headerExtension(out.subarray(0, n), 7), undefined, 'a new source keeps the answer');
  });
});
