// rpc: the SfuApi over gRPC (contract in proto/sfu/v1/sfu.proto): a server exposing any SfuApi and a
// client implementing SfuApi. May import protocol/ (incl. generated/), lib/ and @grpc/grpc-js only.

export { SfuGrpcClient, type SfuGrpcClientOptions } from './sfu-grpc-client.ts';
export { type SfuGrpcServer, type SfuGrpcServerOptions, startSfuGrpcServer } from './sfu-grpc-server.ts';
export { grpcStatusOf, sfuErrorCodeOf } from './status.ts';
