// sfu/qos: pure quality-of-service building blocks (layer selection, VP8 munging, bandwidth estimation, layer allocation, dynacast); no I/O, injected clock.
// May import lib/ and rtp/ only.

export type { BandwidthEstimator, BitrateBounds } from './bandwidth-estimator.ts';
export { Dynacast, type DynacastOptions } from './dynacast.ts';
export {
  type Allocation,
  type AllocatorTrack,
  LayerAllocator,
  type TrackAllocation,
} from './layer-allocator.ts';
export type { BandwidthUsage } from './overuse-detector.ts';
export { RembEstimator } from './remb-estimator.ts';
export { SendSideEstimator } from './send-side-estimator.ts';
export {
  type LayerPacket,
  type SelectResult,
  SimulcastSelector,
  type SimulcastSelectorOptions,
} from './simulcast-selector.ts';
export * from './video-layer.ts';
export { rewriteVp8KeyIdx, Vp8Munger, vp8TkByteOffset } from './vp8-munger.ts';
