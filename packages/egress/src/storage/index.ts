// Uploads to S3-compatible storage: finished recordings and live HLS mirrored into a bucket.
// Imports @aws-sdk/client-s3 and the core's lib/ and sfu/egress-backend.ts contract only.
export type { HlsFileKind, HlsFileListener, HlsUploadMirrorOptions } from './hls-upload-mirror.ts';
export { HlsUploadMirror } from './hls-upload-mirror.ts';
export type { PutResult, S3UploaderOptions, UploadStats } from './s3-uploader.ts';
export { S3Uploader } from './s3-uploader.ts';
export type { StorageSettings } from './storage-options.ts';
export { objectUrl } from './storage-options.ts';
export type { RecordingFile, RecordingUpload } from './upload-recording.ts';
export { uploadRecording } from './upload-recording.ts';
