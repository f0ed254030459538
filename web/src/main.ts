// The page: one map, two views (resident, planner), Chinese with an English toggle. The
// planner view is a separate chunk, loaded the first time it is opened.
import OlMap from 'ol/Map';
import View from 'ol/View';
import ScaleLine from 'ol/control/ScaleLine';
import { defaults as defaultControls } from 'ol/control/defaults';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import { Circle as CircleStyle, Fill, Stroke, Style, Text } from 'ol/style';
import { fromLonLat, toLonLat } from 'ol/proj';
import type { FeatureLike } from 'ol/Feature';

import { get, type Category } from './api';
import { baseMap, labelCommunities, loadCollection, markRendered } from './basemap';
import { applyStatic, getLang, setLang, t } from './i18n';
import { readState, writeState, type State } from './state';
import { residentView } from './resident';

/** What the views share. */
export interface Ctx {
  map: OlMap;
  state: State;
  panel: HTMLElement;
  categories: Category[];
  /** Facilities of the chosen category (both views draw them). */
  facilities: VectorSource;
  save(): void;
  /** Reload the facilities layer for `state.cat`. */
  reloadFacilities(): Promise<void>;
  /** Mark a test/diagnostic fact on the map element (`data-*`), e.g. features drawn. */
  mark(key: string, value: string | number): void;
}

export interface ViewModule {
  show(): void;
  hide(): void;
  /** Map click (WGS84); `pixel` for hit tests. */
  click(lonlat: [number, number], pixel: number[]): void;
}

const state = readState(window.location.search);
setLang(state.lang);
applyStatic();

const base = baseMap();
const facilities = new VectorSource();
const facilityStyleCache = new Map<string, Style>();
function facilityStyle(f: FeatureLike, resolution: number): Style {
  const key = resolution < 3 ? String(f.get('name') ?? '') : '';
  let s = facilityStyleCache.get(key);
  if (!s) {
    s = new Style({
      image: new CircleStyle({ radius: 5, fill: new Fill({ color: '#e67e22' }), stroke: new Stroke({ color: '#fff', width: 1.5 }) }),
      text: key
        ? new Text({ text: key, offsetY: -12, font: '11px system-ui, sans-serif', fill: new Fill({ color: '#5a3a10' }), stroke: new Stroke({ color: '#fff', width: 3 }) })
        : undefined,
    });
    facilityStyleCache.set(key, s);
  }
  return s;
}
const facilityLayer = new VectorLayer({ source: facilities, style: facilityStyle, zIndex: 20, declutter: false });
facilityLayer.set('name', 'facilities');

const mapEl = document.getElementById('map') as HTMLElement;
const map = new OlMap({
  target: mapEl,
  layers: [base.layer, base.labels, facilityLayer],
  controls: defaultControls({ attribution: false, rotate: false }).extend([new ScaleLine()]),
  view: new View({
    // A shared link opens at its view, else at its place, else the whole area (below).
    center: fromLonLat(state.c ?? (state.lon !== undefined && state.lat !== undefined ? [state.lon, state.lat] : [106.535, 29.47])),
    zoom: state.z ?? (state.lon !== undefined ? 15.5 : 14),
    minZoom: 10,
    maxZoom: 19,
  }),
});
if (!state.c && state.lon === undefined) {
  void base.extent.then((extent) => {
    if (extent && Number.isFinite(extent[0])) map.getView().fit(extent, { padding: [10, 10, 10, 10] });
  });
}

const panel = document.getElementById('panel') as HTMLElement;
const ctx: Ctx = {
  map,
  state,
  panel,
  categories: [],
  facilities,
  save: () => writeState(state),
  reloadFacilities: async () => {
    const fs = await loadCollection('facilities', { category: state.cat });
    facilities.clear();
    facilities.addFeatures(fs);
    ctx.mark('facilities', fs.length);
  },
  mark: (key, value) => {
    mapEl.dataset[key] = String(value);
  },
};

markRendered(map, base.layer, ctx.mark, 'basemap');
labelCommunities(map, base);

map.on('moveend', () => {
  const v = map.getView();
  const c = toLonLat(v.getCenter() ?? [0, 0]);
  state.c = [c[0], c[1]];
  state.z = v.getZoom();
  ctx.save();
});

let views: Partial<Record<State['view'], ViewModule>> = {};
let active: ViewModule | undefined;

async function open(view: State['view']): Promise<void> {
  state.view = view;
  for (const v of ['resident', 'planner'] as const) {
    document.getElementById(`tab-${v}`)?.setAttribute('aria-pressed', String(v === view));
  }
  active?.hide();
  if (!views[view]) {
    views = {
      ...views,
      [view]: view === 'resident' ? residentView(ctx) : (await import('./planner')).plannerView(ctx),
    };
  }
  active = views[view];
  active?.show();
  ctx.save();
}

map.on('singleclick', (e) => {
  const ll = toLonLat(e.coordinate);
  active?.click([ll[0], ll[1]], e.pixel);
});

document.getElementById('tab-resident')?.addEventListener('click', () => void open('resident'));
document.getElementById('tab-planner')?.addEventListener('click', () => void open('planner'));
document.getElementById('lang')?.addEventListener('click', () => {
  state.lang = getLang() === 'zh' ? 'en' : 'zh';
  setLang(state.lang);
  const btn = document.getElementById('lang') as HTMLElement;
  btn.textContent = state.lang === 'zh' ? 'EN' : '中文';
  btn.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  ctx.save();
  // Views rebuild their panels in the new language.
  active?.hide();
  active?.show();
});
if (state.lang === 'en') {
  const btn = document.getElementById('lang') as HTMLElement;
  btn.textContent = '中文';
  btn.lang = 'zh-CN';
}

async function start(): Promise<void> {
  try {
    const cats = await get<{ categories: Category[] }>('/categories');
    ctx.categories = cats.categories.filter((c) => c.facilities > 0);
  } catch (e) {
    panel.textContent = `${t('error')}${(e as Error).message}`;
    return;
  }
  if (!ctx.categories.some((c) => c.id === state.cat) && ctx.categories.length > 0) state.cat = ctx.categories[0].id;
  void ctx.reloadFacilities();
  await open(state.view);
}
void start();
