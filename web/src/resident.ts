// Resident view: where am I (community, grid, micro-grid, grid worker, service list), the
// nearest services by walking time with the way there, and the 5/10/15-minute walking area.
import Feature from 'ol/Feature';
import Point from 'ol/geom/Point';
import LineString from 'ol/geom/LineString';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import { Circle as CircleStyle, Fill, Stroke, Style } from 'ol/style';
import { fromLonLat } from 'ol/proj';
import type { FeatureLike } from 'ol/Feature';
import type Polygon from 'ol/geom/Polygon';
import type MultiPolygon from 'ol/geom/MultiPolygon';

import { get, type Collection, type IsochroneProps, type Located, type NearestProps, type Profile } from './api';
import { loadCollection, readFeatures } from './basemap';
import { h, select } from './dom';
import { categoryName, t } from './i18n';
import { initials } from './pinyin';
import type { Ctx, ViewModule } from './main';

export const ROUTE_COLOUR = '#d6006f';
const ISO_COLOURS: Record<number, string> = { 5: 'rgba(0,120,80,0.30)', 10: 'rgba(0,120,80,0.20)', 15: 'rgba(0,120,80,0.12)' };

interface Place {
  name: string;
  key: string;
  lonlat: [number, number];
}

export function residentView(ctx: Ctx): ViewModule {
  const { map, state } = ctx;
  const overlay = new VectorSource();
  const isoSource = new VectorSource();
  const routeStyle = new Style({ stroke: new Stroke({ color: ROUTE_COLOUR, width: 5 }) });
  const placeStyle = new Style({
    image: new CircleStyle({ radius: 8, fill: new Fill({ color: '#0b5394' }), stroke: new Stroke({ color: '#fff', width: 3 }) }),
  });
  const overlayLayer = new VectorLayer({
    source: overlay,
    zIndex: 30,
    style: (f: FeatureLike) => (f.getGeometry()?.getType() === 'Point' ? placeStyle : routeStyle),
  });
  const isoLayer = new VectorLayer({
    source: isoSource,
    zIndex: 10,
    style: (f: FeatureLike) =>
      new Style({
        fill: new Fill({ color: ISO_COLOURS[Number(f.get('minutes'))] ?? 'rgba(0,120,80,0.15)' }),
        stroke: new Stroke({ color: '#00784f', width: 1.5 }),
      }),
  });

  let places: Place[] | undefined;
  let nearest: NearestProps[] = [];
  let chosen = 0;
  let located: Located | undefined;
  let iso: IsochroneProps[] = [];
  let error = '';
  let busy = false;

  async function loadPlaces(): Promise<Place[]> {
    if (places) return places;
    const sets = await Promise.all(
      ['communities', 'grids', 'compounds', 'facilities'].map((id) => loadCollection(id).catch(() => [])),
    );
    places = sets.flat().flatMap((f) => {
      const name = String(f.get('name') ?? '');
      const g = f.getGeometry();
      if (!name || !g) return [];
      const c = g.getType() === 'Point'
        ? (g as Point).getCoordinates()
        : g.getType() === 'Polygon'
          ? (g as Polygon).getInteriorPoint().getCoordinates()
          : (g as MultiPolygon).getInteriorPoints().getFirstCoordinate();
      const ll = new Point(c).transform('EPSG:3857', 'EPSG:4326') as Point;
      const [lon, lat] = ll.getCoordinates();
      return [{ name, key: `${name.toLowerCase()} ${initials(name)}`, lonlat: [lon, lat] as [number, number] }];
    });
    return places;
  }

  function drawRoute(): void {
    overlay.clear();
    if (state.lon !== undefined && state.lat !== undefined) {
      overlay.addFeature(new Feature(new Point(fromLonLat([state.lon, state.lat]))));
    }
    const r = nearest[chosen]?.route;
    if (r) {
      overlay.addFeature(new Feature(new LineString(r.coordinates.map((p) => fromLonLat([p[0], p[1]])))));
      ctx.mark('route', r.coordinates.length);
    } else {
      ctx.mark('route', 0);
    }
  }

  async function place(lon: number, lat: number): Promise<void> {
    state.lon = lon;
    state.lat = lat;
    ctx.save();
    busy = true;
    error = '';
    chosen = 0;
    nearest = [];
    iso = [];
    located = undefined;
    isoSource.clear();
    drawRoute();
    render();
    const at = { lon, lat };
    const [loc, near, isos] = await Promise.allSettled([
      get<Located>('/locate', at),
      get<Collection<NearestProps>>('/nearest', { ...at, category: state.cat, k: 5, profile: state.profile, route: true }),
      get<Collection<IsochroneProps>>('/isochrone', { ...at, minutes: '5,10,15', profile: state.profile }),
    ]);
    if (state.lon !== lon || state.lat !== lat) return; // a newer place was chosen meanwhile
    busy = false;
    if (loc.status === 'fulfilled') located = loc.value;
    if (near.status === 'fulfilled') nearest = near.value.features.map((f) => f.properties);
    else error = near.reason instanceof Error ? near.reason.message : String(near.reason);
    if (isos.status === 'fulfilled') {
      iso = isos.value.features.map((f) => f.properties);
      // Largest first so the smaller areas are drawn on top.
      const fs = readFeatures({ ...isos.value, features: [...isos.value.features].reverse() });
      isoSource.addFeatures(fs);
      ctx.mark('isochrones', fs.length);
    }
    ctx.mark('nearest', nearest.length);
    drawRoute();
    render();
  }

  function searchBox(): HTMLElement {
    const results = h('ul', { class: 'results', id: 'search-results', hidden: true });
    const input = h('input', {
      type: 'search',
      id: 'search',
      autocomplete: 'off',
      placeholder: t('search'),
      'aria-controls': 'search-results',
    });
    input.addEventListener('focus', () => void loadPlaces());
    input.addEventListener('input', async () => {
      const q = input.value.trim().toLowerCase();
      const all = await loadPlaces();
      results.replaceChildren();
      if (!q) {
        results.hidden = true;
        return;
      }
      const hits = all.filter((p) => p.key.includes(q)).slice(0, 12);
      for (const p of hits) {
        results.append(
          h('li', {}, h('button', {
            type: 'button',
            onclick: () => {
              results.hidden = true;
              input.value = p.name;
              map.getView().animate({ center: fromLonLat(p.lonlat), zoom: Math.max(map.getView().getZoom() ?? 15, 16), duration: 300 });
              void place(p.lonlat[0], p.lonlat[1]);
            },
          }, p.name)),
        );
      }
      results.hidden = hits.length === 0;
    });
    const geo = h('button', {
      type: 'button',
      class: 'act secondary',
      onclick: () => {
        navigator.geolocation?.getCurrentPosition(
          (pos) => {
            const ll: [number, number] = [pos.coords.longitude, pos.coords.latitude];
            map.getView().animate({ center: fromLonLat(ll), zoom: 16, duration: 300 });
            void place(ll[0], ll[1]);
          },
          (e) => {
            error = `${t('geoFailed')}${e.message}`;
            render();
          },
        );
      },
    }, t('locateMe'));
    return h('div', {}, h('label', { for: 'search' }, t('search')), input, results, h('p', {}, geo));
  }

  function controls(): HTMLElement {
    const cats = ctx.categories.map((c) => [c.id, categoryName(c)] as [string, string]);
    const profiles = (['standard', 'elder', 'wheelchair'] as const).map((p) => [p, t(p)] as [string, string]);
    const again = () => {
      if (state.lon !== undefined && state.lat !== undefined) void place(state.lon, state.lat);
      else ctx.save();
    };
    return h('div', { class: 'row' },
      select('cat', t('category'), cats, state.cat, (v) => {
        state.cat = v;
        void ctx.reloadFacilities();
        again();
      }),
      select('profile', t('profile'), profiles, state.profile, (v) => {
        state.profile = v as Profile;
        again();
      }),
    );
  }

  function placeInfo(): HTMLElement | null {
    if (!located) return null;
    const l = located;
    const grid = l.grid?.properties ?? {};
    const rows: [string, string | undefined][] = [
      [t('community'), l.community?.name],
      [t('grid'), l.grid?.name],
      [t('microgrid'), l.microgrid?.name],
      [t('compound'), l.compound?.name],
    ];
    const levelName = { subdistrict: t('subdistrictLevel'), community: t('communityLevel'), grid: t('gridLevel') };
    return h('section', { id: 'place' },
      h('h2', {}, t('place')),
      l.community ? null : h('p', { class: 'err' }, t('outside')),
      h('table', {}, h('tbody', {}, ...rows.filter(([, v]) => v).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v ?? ''))))),
      grid.grid_worker
        ? h('p', { id: 'grid-worker' }, h('strong', {}, `${t('gridWorker')}：`), String(grid.grid_worker), ' ', String(grid.grid_worker_phone ?? ''))
        : null,
      l.service_contacts.length
        ? h('div', {},
            h('h3', {}, t('serviceList')),
            h('ol', { class: 'list' }, ...l.service_contacts.map((c) =>
              h('li', {}, h('strong', {}, `${levelName[c.level]} `), c.name, ' ',
                h('span', { class: 'muted' }, [c.office_address, c.secretary, c.grid_worker, c.contact ?? c.grid_worker_phone].filter(Boolean).join(' · '))))))
        : null,
    );
  }

  function nearestList(): HTMLElement | null {
    if (!nearest.length) return null;
    return h('section', { id: 'nearest' },
      h('h2', {}, `${t('nearest')}：${categoryName(ctx.categories.find((c) => c.id === state.cat) ?? { id: state.cat })}`),
      h('ol', { class: 'list' }, ...nearest.map((n, i) =>
        h('li', { class: i === chosen ? 'sel' : '' },
          h('button', {
            type: 'button',
            class: 'linklike',
            'aria-pressed': String(i === chosen),
            onclick: () => {
              chosen = i;
              drawRoute();
              render();
            },
          }, n.name),
          h('br'),
          h('span', { class: 'walk' }, `${(n.walk_min ?? 0).toFixed(1)} ${t('minutes')} · ${Math.round(n.walk_m ?? n.distance_m)} ${t('metres')}`),
          n.opening_hours ? h('span', { class: 'muted' }, ` · ${t('hours')} ${n.opening_hours}`) : null,
        ))),
    );
  }

  function isoInfo(): HTMLElement | null {
    if (!iso.length) return null;
    return h('section', { id: 'iso' },
      h('h2', {}, `${t('isochrone')}（${t(state.profile)}）`),
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('walkMinutes')), h('th', { class: 'num' }, t('households')), h('th', { class: 'num' }, t('residents')), h('th', { class: 'num' }, t('elders')))),
        h('tbody', {}, ...iso.map((p) => h('tr', {},
          h('td', {}, `${p.minutes} ${t('minutes')}`),
          h('td', { class: 'num' }, p.households.toLocaleString()),
          h('td', { class: 'num' }, p.residents.toLocaleString()),
          h('td', { class: 'num' }, p.residents_60plus.toLocaleString()))))),
    );
  }

  function render(): void {
    const parts: (HTMLElement | null)[] = [
      searchBox(),
      controls(),
      busy ? h('p', { class: 'muted' }, t('loading')) : null,
      error ? h('p', { class: 'err', role: 'alert' }, `${t('error')}${error}`) : null,
      located || nearest.length ? null : h('p', { class: 'hint' }, t('hintResident')),
      placeInfo(),
      nearestList(),
      isoInfo(),
    ];
    ctx.panel.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  return {
    show() {
      map.addLayer(isoLayer);
      map.addLayer(overlayLayer);
      render();
      if (state.lon !== undefined && state.lat !== undefined && !located && !busy) void place(state.lon, state.lat);
    },
    hide() {
      map.removeLayer(isoLayer);
      map.removeLayer(overlayLayer);
    },
    click(lonlat) {
      void place(lonlat[0], lonlat[1]);
    },
  };
}
