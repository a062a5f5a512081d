import { createRequire } from 'node:module';

/**
 * The DTLS server answers a ClientHello with its ServerHello flight at once, without the
 * HelloVerifyRequest cookie round trip werift-dtls always makes (RFC 6347 §4.2.1: the cookie
 * exchange is the server's choice). The cookie proves the client can receive at its address; a
 * WebRTC transport has proved that already (ICE: our checks' answers reached it, and DTLS records
 * are taken only from the ICE-selected address), as BoringSSL's DTLS server in Chromium does
 * without it too. It saves a round trip per handshake, and a failure mode: werift never
 * retransmits its HelloVerifyRequest and answers every retransmitted ClientHello with a new one,
 * and a browser late to read them answers each, which made the server send its flight again and
 * again (a 1.9 s handshake was traced so on a busy machine).
 *
 * How: werift's server handles each reassembled handshake message in `onHandleHandshakes`; this
 * wraps that of one server. A ClientHello without a cookie (before the server's flight went out)
 * runs werift's own flight-2 negotiation (curve, SRTP profile, randoms, key pair) with its
 * HelloVerifyRequest discarded, then werift's flight 4, its first message numbered 0 (RFC 6347
 * §4.2.2: the first message each side sends has message_seq 0; after a cookie exchange it would
 * be 1). A retransmitted ClientHello after that gets the same flight again (werift's "flight4
 * twice"). Anything else goes to werift unchanged.
 */

interface Handshake {
  msg_type: number;
  fragment: Buffer;
}
interface ServerInternals {
  onHandleHandshakes: (assembled: Handshake[]) => Promise<void>;
  connected: boolean;
  dtls: { flight: number };
  cipher: object;
  srtp: object;
  transport: object;
  options: { certificateRequest?: boolean };
}
interface FlightInstance {
  dtls: { sequenceNumber: number };
  createPacket(handshakes: unknown[]): unknown[];
  exec(clientHello: Handshake, certificateRequest?: boolean): Promise<void>;
}
type FlightClass = new (udp: object, dtls: object, cipher: object, srtp: object) => FlightInstance;

const require = createRequire(import.meta.url);
const { flight2 } = require('werift-dtls/lib/dtls/src/flight/server/flight2.js') as {
  flight2: (udp: object, dtls: object, cipher: object, srtp: object) => (clientHello: unknown) => void;
};
const { Flight4 } = require('werift-dtls/lib/dtls/src/flight/server/flight4.js') as { Flight4: FlightClass };
const { ClientHello } = require('werift-dtls/lib/dtls/src/handshake/message/client/hello.js') as {
  ClientHello: { deSerialize(data: Buffer): { cookie: Buffer } };
};

const CLIENT_HELLO = 1;
/** werift's flight number once its server flight (ServerHello … ServerHelloDone) was sent. */
const SERVER_HELLO_FLIGHT = 4;

/** werift's flight 4 with its first message (the ServerHello) numbered 0: no HelloVerifyRequest came before it. */
class FirstServerFlight extends Flight4 {
  #first = true;

  override createPacket(handshakes: unknown[]): unknown[] {
    if (this.#first) {
      this.#first = false;
      this.dtls.sequenceNumber = 0;
    }
    return super.createPacket(handshakes);
  }
}

/** The shape of werift's server this relies on is there (another werift version may differ). */
export function canAnswerWithoutCookie(server: object): boolean {
  const s = server as Partial<ServerInternals>;
  return (
    typeof s.onHandleHandshakes === 'function' &&
    typeof flight2 === 'function' &&
    typeof Flight4 === 'function' &&
    typeof (Flight4.prototype as Partial<FlightInstance>).createPacket === 'function' &&
    typeof s.dtls?.flight === 'number' &&
    s.cipher !== undefined &&
    s.srtp !== undefined &&
    s.transport !== undefined
  );
}

/** Makes werift's DTLS `server` skip the cookie exchange; false (and nothing changed) when its shape is unknown. */
export function answerHelloWithoutCookie(server: object): boolean {
  if (!canAnswerWithoutCookie(server)) return false;
  const s = server as ServerInternals;
  const werift = s.onHandleHandshakes;
  const discard = { send: async () => undefined };
  s.onHandleHandshakes = async (assembled) => {
    const hello = s.connected ? undefined : assembled.find((h) => h.msg_type === CLIENT_HELLO);
    if (!hello || ClientHello.deSerialize(hello.fragment).cookie.length > 0) return werift(assembled);
    // A retransmitted ClientHello must not renegotiate (new randoms and keys) under the flight sent.
    if (s.dtls.flight < SERVER_HELLO_FLIGHT)
      flight2(discard, s.dtls, s.cipher, s.srtp)(ClientHello.deSerialize(hello.fragment));
    await new FirstServerFlight(s.transport, s.dtls, s.cipher, s.srtp).exec(
      hello,
      s.options.certificateRequest,
    );
  };
  return true;
}
