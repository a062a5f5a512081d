import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sendsMedia } from './grants.ts';

const offer = (...sections: string[]) => ['v=0', 's=-', 't=0 0', ...sections].join('\r\n');

describe('sendsMedia()', () => {
  it('is true for an audio or video section that is sendrecv (the default) or sendonly', () => {
    assert.equal(sendsMedia(offer('m=video 9 UDP/TLS/RTP/SAVPF 96')), true);
    assert.equal(sendsMedia(offer('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=sendonly')), true);
    assert.equal(sendsMedia(offer('m=video 9 X 96', 'a=recvonly', 'm=audio 9 X 111', 'a=sendrecv')), true);
  });

  it('is false for receive-only, inactive, rejected (port 0) and data-only offers', () => {
    assert.equal(sendsMedia(offer('m=video 9 X 96', 'a=recvonly', 'm=audio 9 X 111', 'a=inactive')), false);
    assert.equal(sendsMedia(offer('m=video 0 X 96', 'a=sendrecv')), false);
    assert.equal(sendsMedia(offer('m=application 9 UDP/DTLS/SCTP webrtc-datachannel')), false);
    assert.equal(sendsMedia('v=0\ns=-\nm=video 9 X 96\na=recvonly\n'), false, 'LF line ends');
  });
});
