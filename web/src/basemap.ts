// The base map, drawn from the service's own GeoJSON collections. All base-map data loading
// lives in this module so vector tiles can replace it later without touching the views.
import type Feature from 'ol/Feature';
import GeoJSON from 'ol/format/GeoJSON';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import { Fill, RegularShape, Stroke, Style, Text } from 'ol/style';
import type { FeatureLike } from 'ol/Feature';

const format = new GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });

/** Read GeoJSON (WGS84) into map features (Web Mercator). */
export function readFeatures(geojson: unknown): Feature[] {
  return format.readFeatures(geojson) as Feature[];
}

/** Write map features back to WGS84 GeoJSON (downloads). */
export function writeFeatures(features: Feature[]): string {
  return format.writeFeatures(features, { decimals: 7 });
}

/** Every feature of a collection (one page of up to 10,000, the API's largest). */
export async function loadCollection(id: string, filter: Record<string, string> = {}): Promise<Feature[]> {
  const q = new URLSearchParams({ limit: '10000', ...filter });
  const r = await fetch(`/collections/${id}/items?${q}`, { headers: { Accept: 'application/geo+json' } });
  if (!r.ok) throw new Error(`${id}: ${r.status}`);
  return readFeatures(await r.json());
}

export const WATER = '#8ec5ea';
export const STAIRS = '#c8372d';

const boundaryStyle = new Style({
  fill: new Fill({ color: '#fbf8f1' }),
  stroke: new Stroke({ color: '#8c1c13', width: 2, lineDash: [8, 5] }),
});
const waterStyle = new Style({ fill: new Fill({ color: WATER }) });
const compoundStyle = new Style({ fill: new Fill({ color: '#f3dcc0' }), stroke: new Stroke({ color: '#e0b98a', width: 1 }) });
const walkStyle = new Style({ stroke: new Stroke({ color: '#a59d8c', width: 1 }) });
const stairsStyle = new Style({ stroke: new Stroke({ color: STAIRS, width: 1.5, lineDash: [3, 2] }) });
const buildingStyle = new Style({
  image: new RegularShape({ points: 4, radius: 3.5, angle: Math.PI / 4, fill: new Fill({ color: '#8d7b68' }) }),
});
const communityStroke = new Stroke({ color: '#6a3d9a', width: 1.2 });

function communityStyle(f: FeatureLike, resolution: number): Style {
  return new Style({
    stroke: communityStroke,
    text:
      resolution < 12
        ? new Text({
            text: String(f.get('name') ?? ''),
            font: '12px system-ui, "Noto Sans CJK SC", sans-serif',
            fill: new Fill({ color: '#4b2a6e' }),
            stroke: new Stroke({ color: '#fff', width: 3 }),
            overflow: true,
          })
        : undefined,
  });
}

export interface BaseMap {
  layers: VectorLayer[];
  boundary: VectorSource;
  communities: VectorSource;
  /** Resolves when the boundary (the first thing drawn) has loaded. */
  ready: Promise<void>;
}

function layer(
  source: VectorSource,
  style: Style | ((f: FeatureLike, r: number) => Style),
  zIndex: number,
  opts: { declutter?: boolean; maxResolution?: number } = {},
): VectorLayer {
  return new VectorLayer({ source, style, zIndex, updateWhileInteracting: false, ...opts });
}

/**
 * The base layers. Small layers (boundary, water, communities) load at once; compounds and
 * the walkway network when first drawn.
 */
export function baseMap(): BaseMap {
  const boundary = new VectorSource();
  const water = new VectorSource();
  const communities = new VectorSource();
  // OpenLayers calls a source's loader the first time its layer is drawn, so the walkway
  // network (the largest layer, shown from zoom ~15) is only fetched once someone zooms in.
  const lazy = (id: string) => {
    const src: VectorSource = new VectorSource({
      loader: (_extent, _resolution, _projection, success, failure) => {
        loadCollection(id).then(
          (fs) => {
            src.addFeatures(fs);
            success?.(fs);
          },
          (e: unknown) => {
            console.warn(`layer ${id} not drawn:`, e);
            failure?.();
          },
        );
      },
    });
    return src;
  };
  const compounds = lazy('compounds');
  const walkways = lazy('walkways');
  const buildings = lazy('buildings');
  const load = (src: VectorSource, id: string) =>
    loadCollection(id).then(
      (fs) => src.addFeatures(fs),
      (e: unknown) => console.warn(`layer ${id} not drawn:`, e),
    );
  const ready = load(boundary, 'boundary');
  void load(water, 'water');
  void load(communities, 'communities');
  return {
    layers: [
      layer(boundary, boundaryStyle, 0),
      layer(water, waterStyle, 1),
      layer(compounds, compoundStyle, 2),
      // Walkways from zoom ~15 on: below that they are a grey blur, yet most of the bytes and
      // drawing time of the whole map (1.3 MB, 7.5k lines).
      layer(walkways, (f) => (f.get('kind') === 'stairs' ? stairsStyle : walkStyle), 3, { maxResolution: 6 }),
      // Residential buildings (points) from zoom ~16, where one can tell them apart.
      layer(buildings, buildingStyle, 4, { maxResolution: 2.5 }),
      layer(communities, communityStyle, 6, { declutter: true }),
    ],
    boundary,
    communities,
    ready,
  };
}
