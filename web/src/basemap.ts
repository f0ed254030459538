// The base map, drawn from the service's own vector tiles (the composite source /tiles: every
// layer in one tile, each from its own zoom), and the tile sources the planner's coverage
// choropleth uses. Whole GeoJSON layers are read only for search and downloads.
import Feature from 'ol/Feature';
import GeoJSON from 'ol/format/GeoJSON';
import Point from 'ol/geom/Point';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import type RenderFeature from 'ol/render/Feature';
import { getArea } from 'ol/extent';
import MVT from 'ol/format/MVT';
import VectorTileLayer from 'ol/layer/VectorTile';
import VectorTileSource from 'ol/source/VectorTile';
import { transformExtent } from 'ol/proj';
import { createXYZ } from 'ol/tilegrid';
import type { Extent } from 'ol/extent';
import { Fill, RegularShape, Stroke, Style, Text } from 'ol/style';
import type { FeatureLike } from 'ol/Feature';
import type OlMap from 'ol/Map';

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

/** The tile matrix set every source of the service uses, and its zoom range (TileJSON). */
const TMS = 'WebMercatorQuad';
export const TILE_ZOOM_MIN = 10;
export const TILE_ZOOM_MAX = 18;

/**
 * A vector-tile source of this service: `root` is a tileset path (`/tiles`, `/coverage/tiles`,
 * `/collections/grids/tiles`), `query` its parameters. The grid is WebMercatorQuad's own,
 * 256-pixel tiles (OpenLayers' default for vector tiles is 512, which would ask for a tile a
 * zoom coarser than the view and show each layer a zoom later than the tiles start it). Past
 * zoom 18 the z18 tiles are over-zoomed, as the TileJSON's maxzoom says.
 */
export function tileSource(root: string, query: Record<string, string> = {}): VectorTileSource {
  const q = new URLSearchParams(query).toString();
  return new VectorTileSource({
    format: new MVT(),
    url: `${root}/${TMS}/{z}/{y}/{x}${q ? `?${q}` : ''}`,
    tileGrid: createXYZ({ tileSize: 256, minZoom: TILE_ZOOM_MIN, maxZoom: TILE_ZOOM_MAX }),
  });
}

/** The data's extent (Web Mercator) from the composite source's TileJSON `bounds`. */
export async function dataExtent(): Promise<Extent | undefined> {
  const r = await fetch(`/tiles/${TMS}/tilejson.json`);
  if (!r.ok) return undefined;
  const tj = (await r.json()) as { bounds?: number[] };
  return tj.bounds?.length === 4 ? transformExtent(tj.bounds, 'EPSG:4326', 'EPSG:3857') : undefined;
}

export const WATER = '#8ec5ea';
export const STAIRS = '#c8372d';

// Draw order inside the one tile layer (OpenLayers sorts a layer's styles by zIndex).
const boundaryFill = new Style({ fill: new Fill({ color: '#fbf8f1' }), zIndex: 0 });
const boundaryLine = new Style({ stroke: new Stroke({ color: '#8c1c13', width: 2, lineDash: [8, 5] }), zIndex: 9 });
const waterStyle = new Style({ fill: new Fill({ color: WATER }), zIndex: 1 });
const compoundStyle = new Style({ fill: new Fill({ color: '#f3dcc0' }), stroke: new Stroke({ color: '#e0b98a', width: 1 }), zIndex: 2 });
const gridStyle = new Style({ stroke: new Stroke({ color: '#b7a6cf', width: 0.8, lineDash: [4, 3] }), zIndex: 3 });
const walkStyle = new Style({ stroke: new Stroke({ color: '#a59d8c', width: 1 }), zIndex: 4 });
const stairsStyle = new Style({ stroke: new Stroke({ color: STAIRS, width: 1.5, lineDash: [3, 2] }), zIndex: 5 });
// Buildings are footprints (the model) or points (an OpenStreetMap import): the fill and
// stroke draw a footprint, the square a point.
const buildingStyle = new Style({
  image: new RegularShape({ points: 4, radius: 3.5, angle: Math.PI / 4, fill: new Fill({ color: '#8d7b68' }) }),
  fill: new Fill({ color: '#b8a58f' }),
  stroke: new Stroke({ color: '#8d7b68', width: 1 }),
  zIndex: 6,
});
const communityLine = new Style({ stroke: new Stroke({ color: '#6a3d9a', width: 1.2 }), zIndex: 7 });
const labelCache = new Map<string, Style>();

function communityLabel(f: FeatureLike, resolution: number): Style | undefined {
  if (resolution >= 12) return undefined;
  const name = String(f.get('name') ?? '');
  let s = labelCache.get(name);
  if (!s) {
    s = new Style({
      text: new Text({
        text: name,
        font: '12px system-ui, "Noto Sans CJK SC", sans-serif',
        fill: new Fill({ color: '#4b2a6e' }),
        stroke: new Stroke({ color: '#fff', width: 3 }),
        overflow: true,
      }),
    });
    labelCache.set(name, s);
  }
  return s;
}

/**
 * Style of a composite tile's feature by its tile layer (MVT puts the layer name in `layer`).
 * Facilities are the views' own layer (the chosen category), so not drawn here; walkways from
 * zoom ~15 and buildings from ~16, where they can be told apart.
 */
function baseStyle(f: FeatureLike, resolution: number): Style | Style[] | undefined {
  switch (f.get('layer')) {
    case 'boundary':
      // The subdistrict's pale fill under everything, its dashed edge over the areas.
      return [boundaryFill, boundaryLine];
    case 'water':
      return waterStyle;
    case 'compounds':
      return compoundStyle;
    case 'grids':
      return resolution < 10 ? gridStyle : undefined;
    case 'walkways':
      if (resolution >= 6) return undefined;
      return f.get('stairs') === true ? stairsStyle : walkStyle;
    case 'buildings':
      return resolution < 2.5 ? buildingStyle : undefined;
    case 'communities':
      return communityLine;
    default:
      return undefined;
  }
}

export interface BaseMap {
  layer: VectorTileLayer;
  /** One label per community (a tile holds a piece of each community it crosses). */
  labels: VectorLayer;
  /** Resolves with the data's extent (from TileJSON) to open the map on. */
  extent: Promise<Extent | undefined>;
}

/** The base map: the composite vector tiles under everything else. */
export function baseMap(): BaseMap {
  const layer = new VectorTileLayer({
    source: tileSource('/tiles'),
    // The subdistrict's pale fill under the tiles, then the tile features.
    style: baseStyle,
    declutter: true,
    zIndex: 0,
    // The tiles are small; a sharper picture while panning is worth the redraws.
    renderMode: 'hybrid',
  });
  layer.set('name', 'basemap');
  const labels = new VectorLayer({ source: new VectorSource(), style: communityLabel, declutter: true, zIndex: 6 });
  return { layer, labels, extent: dataExtent().catch(() => undefined) };
}

/**
 * Keep one label point per community: the interior point of its biggest piece among the tiles
 * in view, updated after each finished render (a label per tile piece would repeat a name in
 * every tile the community crosses).
 */
export function labelCommunities(map: OlMap, base: BaseMap): void {
  let last = '';
  map.on('rendercomplete', () => {
    const extent = map.getView().calculateExtent(map.getSize());
    const best = new Map<string, { area: number; at: number[] }>();
    for (const f of base.layer.getFeaturesInExtent(extent)) {
      if (f.get('layer') !== 'communities') continue;
      const name = String(f.get('name') ?? '');
      const area = getArea(f.getGeometry()?.getExtent() ?? [0, 0, 0, 0]);
      if (!name || (best.get(name)?.area ?? -1) >= area) continue;
      const rf = f as RenderFeature;
      const at = rf.getType() === 'Polygon' ? rf.getFlatInteriorPoint() : rf.getFlatInteriorPoints();
      if (at.length >= 2) best.set(name, { area, at: at.slice(0, 2) });
    }
    const key = [...best].map(([n, b]) => `${n}@${b.at.map(Math.round).join(',')}`).sort().join(';');
    if (key === last) return; // unchanged: no redraw (and no further rendercomplete)
    last = key;
    const source = base.labels.getSource();
    source?.clear();
    source?.addFeatures([...best].map(([name, b]) => new Feature({ geometry: new Point(b.at), name })));
  });
}

/**
 * After every finished render, mark on the map element how many features each tile layer of
 * `layer` has in view (`data-<key>`: `water:3 communities:7 …`): what the browser test and a
 * curious reader can check was drawn from tiles.
 */
export function markRendered(map: OlMap, layer: VectorTileLayer, mark: (key: string, value: string) => void, key: string): void {
  map.on('rendercomplete', () => {
    const extent = map.getView().calculateExtent(map.getSize());
    const counts = new Map<string, Set<string>>();
    for (const f of layer.getFeaturesInExtent(extent)) {
      const l = String(f.get('layer'));
      const ids = counts.get(l) ?? new Set<string>();
      // A feature crossing tiles appears once per tile: count its id once.
      ids.add(String(f.get('id') ?? f.getId()));
      counts.set(l, ids);
    }
    mark(key, [...counts].map(([l, ids]) => `${l}:${ids.size}`).sort().join(' '));
  });
}
