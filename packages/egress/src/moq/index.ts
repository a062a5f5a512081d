/**
 * MoQ egress: broadcasts over WebSocket (@moq/net + @moq/qmux) and the watch page. Imports the
 * core only through src/lib; frames come in through the FrameSink contract (media/frame.ts).
 */
export { MoqBroadcast, type MoqBroadcastOptions, type MoqBroadcastStats } from './moq-broadcast.ts';
export { MOQ_PATH, MoqServer, type MoqServerOptions, type MoqServerStats } from './moq-server.ts';
export { serveWatchPage } from './watch-http.ts';
