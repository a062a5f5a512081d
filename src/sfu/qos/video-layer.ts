/**
 * A video layer: a spatial index (simulcast stream, or VP9 spatial layer; 0 = lowest) and a
 * temporal index (VP8/VP9 TID; 0 = base frame rate). `spatial` = -1 means no layer at all.
 */
export interface VideoLayer {
  spatial: number;
  temporal: number;
}

/** VP9 carries 3 bits of spatial and temporal id (RFC 9628 §4.2); simulcast uses up to 3 streams. */
export const MAX_SPATIAL_LAYERS = 8;
export const MAX_TEMPORAL_LAYERS = 8;

/** Nothing forwarded: the track is paused, or no keyframe has arrived yet. */
export const NO_LAYER: Readonly<VideoLayer> = Object.freeze({ spatial: -1, temporal: -1 });

/** The highest layer there can be: "whatever the publisher sends". */
export const HIGHEST_LAYER: Readonly<VideoLayer> = Object.freeze({
  spatial: MAX_SPATIAL_LAYERS - 1,
  temporal: MAX_TEMPORAL_LAYERS - 1,
});

/** Throws TypeError unless both indexes are integers in range (spatial may be -1 for "none"). */
export function assertVideoLayer(layer: VideoLayer): void {
  const { spatial, temporal } = layer;
  if (!Number.isInteger(spatial) || spatial < -1 || spatial >= MAX_SPATIAL_LAYERS)
    throw new TypeError(`invalid spatial layer ${spatial}`);
  if (!Number.isInteger(temporal) || temporal < -1 || temporal >= MAX_TEMPORAL_LAYERS)
    throw new TypeError(`invalid temporal layer ${temporal}`);
}

export function sameLayer(a: VideoLayer, b: VideoLayer): boolean {
  return a.spatial === b.spatial && a.temporal === b.temporal;
}
