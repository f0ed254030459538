// Planner view (its own chunk): coverage choropleth per unit with legend and summary, gaps,
// the audit table, what-if scenarios (POST /scenarios), siting, downloads. The choropleth is
// drawn from the live coverage tiles (/coverage/tiles, one source per category, minutes,
// profile and level); /coverage gives the summary and the table, what-ifs and the audit
// recolour the same tiles by unit id.
import Feature from 'ol/Feature';
import Point from 'ol/geom/Point';
import VectorLayer from 'ol/layer/Vector';
import VectorTileLayer from 'ol/layer/VectorTile';
import VectorSource from 'ol/source/Vector';
import Translate from 'ol/interaction/Translate';
import Collection from 'ol/Collection';
import { Circle as CircleStyle, Fill, Stroke, Style, Text } from 'ol/style';
import { fromLonLat, toLonLat } from 'ol/proj';
import type { FeatureLike } from 'ol/Feature';

import {
  get, post,
  type AuditResult, type Collection as Fc, type CoverageResult, type GapMicrogrid, type GapsResult, type Level,
  type Profile, type ScenarioRequest, type ScenarioResult, type SitingProps, type UnitCoverage,
} from './api';
import { markRendered, readFeatures, tileSource, writeFeatures } from './basemap';
import { csv, download, h, pct, select } from './dom';
import { categoryName, t } from './i18n';
import type { Ctx, ViewModule } from './main';

/** Five classes of share covered, red (few) to green (all). */
const CLASSES: [number, string][] = [
  [0.2, '#d7191c'],
  [0.4, '#fdae61'],
  [0.6, '#ffffbf'],
  [0.8, '#a6d96a'],
  [1.01, '#1a9641'],
];
function colourOf(share: number): string {
  return (CLASSES.find(([hi]) => share < hi) ?? CLASSES[CLASSES.length - 1])[1];
}

interface Table {
  name: string;
  rows: Record<string, unknown>[];
  /** The table's features, for the GeoJSON download (made when asked). */
  features: () => Feature[];
}

const COLLECTION_OF: Record<Level, string> = { grid: 'grids', microgrid: 'microgrids', community: 'communities' };

export function plannerView(ctx: Ctx): ViewModule {
  const { map, state } = ctx;
  /** Shares that replace the tiles' own by unit id: a what-if's "after", or the audit's rate. */
  let override = new Map<string, number>();
  /** The unit last clicked or zoomed to (drawn with a heavy outline). */
  let selectedUnit: string | undefined;
  const styles = new Map<string, Style>();
  const noHouseholds = new Style({ fill: new Fill({ color: '#ffffff66' }), stroke: new Stroke({ color: '#5557', width: 0.6 }) });
  const unitStyle = (f: FeatureLike): Style => {
    const id = String(f.get('id'));
    // Units where nobody lives have no share in the tiles (and none in /coverage).
    const raw = override.get(id) ?? f.get('share');
    if (raw === undefined || raw === null) return noHouseholds;
    const share = Number(raw);
    const sel = id === selectedUnit;
    const key = `${colourOf(share)}${sel}`;
    let s = styles.get(key);
    if (!s) {
      s = new Style({
        fill: new Fill({ color: `${colourOf(share)}b3` }),
        stroke: new Stroke({ color: sel ? '#000' : '#5557', width: sel ? 3 : 0.6 }),
        zIndex: sel ? 1 : 0,
      });
      styles.set(key, s);
    }
    return s;
  };
  const unitLayer = new VectorTileLayer({ style: unitStyle, zIndex: 5, renderMode: 'hybrid' });
  unitLayer.set('name', 'coverage');
  /** The tile source's parameters, so a source is replaced only when they change. */
  let tileKey = '';
  function coverageTiles(): void {
    const q = { category: state.cat, minutes: String(state.minutes), profile: state.profile, level: state.level };
    const key = new URLSearchParams(q).toString();
    if (key === tileKey) return;
    tileKey = key;
    unitLayer.setSource(tileSource('/coverage/tiles', q));
    ctx.mark('coverageTiles', key);
  }
  const recolour = () => unitLayer.changed();
  markRendered(map, unitLayer, ctx.mark, 'choroplethTiles');
  const gapUnitStyle = new Style({ stroke: new Stroke({ color: '#000', width: 2, lineDash: [4, 3] }) });
  const gapBuildingStyle = new Style({ image: new CircleStyle({ radius: 2.5, fill: new Fill({ color: '#b00' }) }) });
  const marks = new VectorSource(); // gaps' buildings, siting's sites, added facilities
  const markLayer = new VectorLayer({
    source: marks,
    zIndex: 25,
    style: (f: FeatureLike) => {
      const kind = f.get('mark');
      if (kind === 'site' || kind === 'added') {
        return new Style({
          image: new CircleStyle({ radius: 9, fill: new Fill({ color: kind === 'site' ? '#6a3d9a' : '#0b5394' }), stroke: new Stroke({ color: '#fff', width: 2 }) }),
          text: new Text({ text: String(f.get('label') ?? ''), fill: new Fill({ color: '#fff' }), font: 'bold 11px system-ui, sans-serif' }),
        });
      }
      if (f.get('kind') === 'microgrid') return gapUnitStyle;
      return gapBuildingStyle;
    },
  });

  // What-if edits, sent whole to POST /scenarios on every change.
  const added: Feature[] = [];
  const removed = new Set<string>();
  const moved = new Map<string, [number, number]>();
  let selectedFacility: Feature | undefined;
  let placing = false;
  let scenario: ScenarioResult | undefined;

  let coverage: CoverageResult | undefined;
  let gaps: GapMicrogrid[] = [];
  let audit: AuditResult | undefined;
  let sites: SitingProps[] = [];
  let table: Table | undefined;
  let error = '';
  let busy = '';
  let standard: 'gb50180' | 'mofcom' = 'gb50180';
  let siteCount = 3;
  /** What the choropleth shows: coverage share, or the audit's compliance rate. */
  let shading: 'coverage' | 'audit' = 'coverage';
  /** The unit last clicked on the map. */
  let picked: { name: string; share: number } | undefined;

  const draggable = new Collection<Feature>();
  const translate = new Translate({ features: draggable });
  translate.on('translateend', (e) => {
    // A plain click also ends a "translation", of zero length: not a move.
    if (e.startCoordinate[0] === e.coordinate[0] && e.startCoordinate[1] === e.coordinate[1]) return;
    for (const f of e.features.getArray()) {
      const id = f.getId();
      const ll = toLonLat((f.getGeometry() as Point).getCoordinates());
      if (f.get('mark') !== 'added' && id !== undefined) moved.set(String(id), [ll[0], ll[1]]);
    }
    void runScenario();
  });
  const refreshDraggable = () => {
    draggable.clear();
    draggable.extend([...ctx.facilities.getFeatures(), ...added]);
  };
  ctx.facilities.on('change', refreshDraggable);

  const params = () => ({ category: state.cat, minutes: state.minutes, profile: state.profile });

  async function run(label: string, job: () => Promise<void>): Promise<void> {
    busy = label;
    error = '';
    ctx.mark('busy', 1);
    render();
    try {
      await job();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    busy = '';
    ctx.mark('busy', 0);
    render();
  }

  /** Features of an answer with geometry, for downloads; `extra` adds properties by id. */
  const featuresOf = (fc: Fc<unknown>, extra: (id: string) => Record<string, unknown> = () => ({})) => () =>
    readFeatures({
      ...fc,
      features: fc.features.filter((f) => f.geometry).map((f) => ({ ...f, properties: { ...(f.properties as object), ...extra(f.id) } })),
    });

  const loadCoverage = () =>
    run(t('loading'), async () => {
      coverageTiles();
      coverage = await get<CoverageResult>('/coverage', { ...params(), level: state.level });
      override = new Map();
      recolour();
      ctx.mark('choropleth', coverage.features.length);
      shading = 'coverage';
      audit = undefined;
      ctx.mark('coverageMinutes', coverage.minutes);
      ctx.mark('covered', coverage.summary.households_covered);
      table = {
        name: `coverage-${state.cat}-${state.minutes}min-${state.level}`,
        rows: coverage.features.map((f) => ({ id: f.id, ...f.properties })),
        features: featuresOf(coverage),
      };
      scenario = undefined;
      if (added.length || removed.size || moved.size) await scenarioNow();
    });

  async function scenarioNow(): Promise<void> {
    const body: ScenarioRequest = {
      minutes: state.minutes,
      profile: state.profile,
      level: state.level,
      add: {
        type: 'FeatureCollection',
        features: added.map((f) => ({
          type: 'Feature' as const,
          geometry: { type: 'Point' as const, coordinates: toLonLat((f.getGeometry() as Point).getCoordinates()) },
          properties: { category: state.cat },
        })),
      },
      remove: [...removed],
      move: [...moved].map(([id, [lon, lat]]) => ({ id, lon, lat })),
    };
    if (!body.add?.features.length) delete body.add;
    scenario = await post<ScenarioResult>('/scenarios', body);
    const cat = scenario.categories.find((c) => c.category === state.cat);
    const after = new Map<string, number>((cat?.units ?? []).flatMap((u) => (u.after.share === null || u.after.share === undefined ? [] : [[u.unit, u.after.share]])));
    override = after;
    recolour();
    ctx.mark('scenario', cat ? cat.total.after.households_covered : 0);
    table = {
      name: `scenario-${state.cat}-${state.minutes}min-${state.level}`,
      rows: (cat?.units ?? []).map((u) => ({
        unit: u.unit, name: u.name ?? '', share_before: u.before.share, share_after: u.after.share,
        households_covered_before: u.before.households_covered, households_covered_after: u.after.households_covered,
      })),
      features: coverage ? featuresOf(coverage, (id) => ({ after_share: after.get(id) ?? null })) : () => [],
    };
  }
  const runScenario = () => run(t('loading'), scenarioNow);

  function resetScenario(): void {
    added.splice(0);
    removed.clear();
    moved.clear();
    scenario = undefined;
    marks.clear();
    void ctx.reloadFacilities();
    void loadCoverage();
  }

  const loadGaps = () =>
    run(t('loading'), async () => {
      const g = await get<GapsResult>('/gaps', params());
      gaps = g.features.filter((f) => f.properties.kind === 'microgrid').map((f) => f.properties as GapMicrogrid);
      marks.clear();
      marks.addFeatures(readFeatures({ ...g, features: g.features.filter((f) => f.geometry) }));
      table = { name: `gaps-${state.cat}-${state.minutes}min`, rows: gaps.map((x) => ({ ...x })), features: () => marks.getFeatures() };
    });

  const loadAudit = () =>
    run(t('loading'), async () => {
      audit = await get<AuditResult>('/audit', { level: state.level, standard, profile: state.profile });
      shading = 'audit';
      coverageTiles();
      override = new Map(audit.features.map((f) => [f.id, f.properties.compliance_rate]));
      recolour();
      const a = audit;
      table = {
        name: `audit-${standard}-${state.level}`,
        rows: a.features.map((f) => ({ id: f.id, ...f.properties, categories: undefined })),
        features: featuresOf(a),
      };
    });

  const loadSiting = () =>
    run(t('loading'), async () => {
      const s = await get<Fc<SitingProps>>('/siting', { ...params(), count: siteCount });
      sites = s.features.map((f) => f.properties);
      marks.clear();
      const fs = readFeatures(s);
      fs.forEach((f) => {
        f.set('mark', 'site');
        f.set('label', String(f.get('rank')));
      });
      marks.addFeatures(fs);
      table = { name: `siting-${state.cat}`, rows: sites.map((x) => ({ ...x })), features: () => fs };
    });

  /** Select a unit and fit the map to it: its shape from the gaps drawn, else that one feature. */
  async function zoomTo(unit: string): Promise<void> {
    selectedUnit = unit;
    recolour();
    let f = marks.getFeatureById(unit) ?? undefined;
    if (!f) {
      const r = await fetch(`/collections/${COLLECTION_OF[state.level]}/items/${encodeURIComponent(unit)}`, { headers: { Accept: 'application/geo+json' } });
      if (!r.ok) return;
      f = readFeatures(await r.json())[0];
    }
    const g = f?.getGeometry();
    if (g) map.getView().fit(g.getExtent(), { padding: [40, 40, 40, 40], duration: 300, maxZoom: 17 });
  }

  function summary(): HTMLElement | null {
    if (!coverage) return null;
    const s = coverage.summary;
    const cat = scenario?.categories.find((c) => c.category === state.cat);
    const after = cat?.total.after;
    return h('div', { id: 'summary' },
      h('p', {},
        `${t('summary')} · ${t('coverage')} `,
        h('span', { class: 'big' }, pct(s.share)),
        ` (${s.households_covered.toLocaleString()} / ${s.households.toLocaleString()} ${t('households')})`),
      after
        ? h('p', { id: 'scenario-summary' },
            `${t('after')}: `, h('span', { class: 'big' }, pct(after.share)),
            ` (${after.households_covered.toLocaleString()} ${t('households')}, ${t('change')} ${after.households_covered - s.households_covered >= 0 ? '+' : ''}${(after.households_covered - s.households_covered).toLocaleString()})`)
        : null,
      picked ? h('p', { id: 'picked' }, `${picked.name}: ${pct(picked.share)}`) : null,
      h('p', { class: 'muted' }, shading === 'audit' ? t('legendAudit') : t('legend')),
      h('div', { class: 'legend' },
        ...CLASSES.map(([hi, c], i) => h('span', { style: `--c:${c}` }, `${i * 20}–${Math.min(100, Math.round(hi * 100))}%`))),
    );
  }

  function unitTable(rows: UnitCoverage[]): HTMLElement {
    const sorted = [...rows].sort((a, b) => a.share - b.share).slice(0, 30);
    return h('table', { id: 'coverage-table' },
      h('thead', {}, h('tr', {}, h('th', {}, t('unit')), h('th', { class: 'num' }, t('share')), h('th', { class: 'num' }, t('households')))),
      h('tbody', {}, ...sorted.map((u) => h('tr', {},
        h('td', {}, h('button', { type: 'button', class: 'linklike', onclick: () => void zoomTo(u.unit) }, u.name ?? u.unit)),
        h('td', { class: 'num' }, pct(u.share)),
        h('td', { class: 'num' }, `${u.households_covered}/${u.households}`)))));
  }

  function render(): void {
    const cats = ctx.categories.map((c) => [c.id, categoryName(c)] as [string, string]);
    const catName = categoryName(ctx.categories.find((c) => c.id === state.cat) ?? { id: state.cat });
    const parts: (HTMLElement | null)[] = [
      h('div', { class: 'row' },
        select('p-cat', t('category'), cats, state.cat, (v) => {
          state.cat = v;
          void ctx.reloadFacilities();
          void loadCoverage();
        }),
        select('p-min', t('walkMinutes'), ['5', '10', '15'].map((m) => [m, `${m} ${t('minutes')}`]), String(state.minutes), (v) => {
          state.minutes = Number(v);
          void loadCoverage();
        })),
      h('div', { class: 'row' },
        select('p-profile', t('profile'), (['standard', 'elder', 'wheelchair'] as const).map((p) => [p, t(p)]), state.profile, (v) => {
          state.profile = v as Profile;
          void loadCoverage();
        }),
        select('p-level', t('level'), [['grid', t('levelGrid')], ['microgrid', t('levelMicrogrid')], ['community', t('levelCommunity')]], state.level, (v) => {
          state.level = v as Level;
          void loadCoverage();
        })),
      busy ? h('p', { class: 'muted' }, busy) : null,
      error ? h('p', { class: 'err', role: 'alert' }, `${t('error')}${error}`) : null,
      h('h2', {}, `${t('coverage')} · ${catName} · ${state.minutes} ${t('minutes')}`),
      summary(),
      h('h2', {}, t('whatIf')),
      h('p', { class: 'muted' }, t('whatIfHint')),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'add-facility', class: 'act', 'aria-pressed': String(placing), onclick: () => { placing = !placing; render(); } }, placing ? t('clickToPlace') : t('addFacility')),
        h('button', {
          type: 'button', id: 'remove-facility', class: 'act secondary', disabled: !selectedFacility,
          onclick: () => {
            const f = selectedFacility;
            if (!f) return;
            const i = added.indexOf(f);
            if (i >= 0) {
              added.splice(i, 1);
              marks.removeFeature(f);
            } else {
              removed.add(String(f.getId()));
              moved.delete(String(f.getId()));
              ctx.facilities.removeFeature(f);
            }
            selectedFacility = undefined;
            void runScenario();
          },
        }, t('removeSelected')),
        h('button', { type: 'button', id: 'reset', class: 'act secondary', onclick: resetScenario }, t('reset'))),
      h('h2', {}, t('gaps')),
      h('button', { type: 'button', class: 'act secondary', id: 'gaps-btn', onclick: () => void loadGaps() }, t('showGaps')),
      gaps.length
        ? h('ol', { class: 'list', id: 'gaps' }, ...gaps.slice(0, 10).map((g) => h('li', {},
            h('button', { type: 'button', class: 'linklike', onclick: () => void zoomTo(g.unit) }, g.name ?? g.unit),
            ` · ${t('uncovered')} `, h('span', { class: 'count' }, g.uncovered_households),
            // Micro-grid names repeat from grid to grid; the code says which one.
            h('br'), h('span', { class: 'muted' }, g.unit))))
        : null,
      h('h2', {}, t('audit')),
      h('div', { class: 'row' },
        select('p-std', t('standardLabel'), [['gb50180', t('gb50180')], ['mofcom', t('mofcom')]], standard, (v) => { standard = v as typeof standard; }),
        h('button', { type: 'button', class: 'act secondary', id: 'audit-btn', onclick: () => void loadAudit() }, t('runAudit'))),
      audit ? auditTable(audit) : null,
      h('h2', {}, t('siting')),
      h('div', { class: 'row' },
        h('div', {}, h('label', { for: 'p-sites' }, t('sites')),
          h('input', { id: 'p-sites', type: 'number', min: 1, max: 10, value: siteCount, onchange: (e: Event) => { siteCount = Math.min(10, Math.max(1, Number((e.target as HTMLInputElement).value) || 1)); } })),
        h('button', { type: 'button', class: 'act secondary', id: 'siting-btn', onclick: () => void loadSiting() }, t('runSiting'))),
      sites.length ? h('ol', { class: 'list', id: 'sites' }, ...sites.map((s) => h('li', {}, `+${s.added_households} ${t('addsHouseholds')}`))) : null,
      table
        ? h('p', { class: 'row' },
            h('button', { type: 'button', class: 'act secondary', onclick: () => table && download(`${table.name}.csv`, 'text/csv', csv(table.rows)) }, `${t('download')} CSV`),
            h('button', { type: 'button', class: 'act secondary', onclick: () => table && download(`${table.name}.geojson`, 'application/geo+json', writeFeatures(table.features())) }, 'GeoJSON'))
        : null,
      coverage && !audit ? unitTable(coverage.features.map((f) => f.properties)) : null,
    ];
    ctx.panel.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  function auditTable(a: AuditResult): HTMLElement {
    const name = (id: string) => categoryName(ctx.categories.find((c) => c.id === id) ?? { id });
    const rows = [...a.features].sort((x, y) => x.properties.compliance_rate - y.properties.compliance_rate);
    return h('div', {},
      h('p', {}, `${t('summary')} · ${t('compliance')} `, h('span', { class: 'big' }, pct(a.summary.compliance_rate))),
      h('table', { id: 'audit-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('unit')), h('th', { class: 'num' }, t('compliance')), h('th', {}, t('missing')))),
        h('tbody', {}, ...rows.slice(0, 40).map((f) => h('tr', {},
          h('td', {}, h('button', { type: 'button', class: 'linklike', onclick: () => void zoomTo(f.id) }, f.properties.name ?? f.id)),
          h('td', { class: 'num' }, pct(f.properties.compliance_rate)),
          h('td', {}, f.properties.missing.map(name).join('、') || t('none')))))));
  }

  return {
    show() {
      map.addLayer(unitLayer);
      map.addLayer(markLayer);
      map.addInteraction(translate);
      refreshDraggable();
      render();
      if (!coverage) void loadCoverage();
    },
    hide() {
      map.removeLayer(unitLayer);
      map.removeLayer(markLayer);
      map.removeInteraction(translate);
    },
    click(lonlat, pixel) {
      if (placing) {
        placing = false;
        const f = new Feature(new Point(fromLonLat(lonlat)));
        f.set('mark', 'added');
        f.set('label', '+');
        added.push(f);
        marks.addFeature(f);
        draggable.push(f);
        void runScenario();
        return;
      }
      selectedFacility = map.forEachFeatureAtPixel(pixel, (f) => (f instanceof Feature && (ctx.facilities.hasFeature(f) || added.includes(f)) ? f : undefined), { hitTolerance: 4 });
      const unit = selectedFacility ? undefined : map.forEachFeatureAtPixel(pixel, (f) => f, { layerFilter: (l) => l === unitLayer });
      const id = unit ? String(unit.get('id')) : undefined;
      selectedUnit = id;
      recolour();
      picked = unit && id ? { name: String(unit.get('name') ?? id), share: Number(override.get(id) ?? unit.get('share') ?? 0) } : undefined;
      render();
    },
  };
}
