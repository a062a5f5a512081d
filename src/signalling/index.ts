// signalling: socket.io signalling in the Waterbus protocol (msgpack, Bearer auth, one session per socket).
// May import lib/, store/, protocol/ (types), socket.io; never sfu/, rpc/, dispatcher/: it is handed an SfuApi.
export { ConnectionType, ParticipantDirectory } from './participant-directory.ts';
export { createSignalling, type Signalling, type SignallingOptions } from './socket-server.ts';
