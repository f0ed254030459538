// Typed calls to the service's own API (same origin; nothing else is ever fetched).
// Shapes follow openapi.yaml; only the fields the page reads are typed.

export type Profile = 'standard' | 'elder' | 'wheelchair';
export type Level = 'microgrid' | 'grid' | 'community';
export type Position = number[];

export interface Geometry {
  type: string;
  coordinates: unknown;
}

export interface Feature<P> {
  type: 'Feature';
  id: string;
  geometry: Geometry | null;
  properties: P;
}

export interface Collection<P> {
  type: 'FeatureCollection';
  features: Feature<P>[];
}

export interface Category {
  id: string;
  name_zh?: string;
  name_en?: string;
  domain?: string;
  facilities: number;
}

export interface AreaRef {
  id: string;
  name: string;
  properties: Record<string, unknown>;
}

export interface ServiceContact {
  level: 'subdistrict' | 'community' | 'grid';
  id: string;
  name: string;
  office_address?: string;
  contact?: string;
  secretary?: string;
  grid_worker?: string;
  grid_worker_phone?: string;
}

export interface Located {
  community: AreaRef | null;
  grid: AreaRef | null;
  microgrid: AreaRef | null;
  compound: AreaRef | null;
  service_contacts: ServiceContact[];
}

export interface NearestProps {
  name: string;
  category: string;
  rank: number;
  distance_m: number;
  walk_min?: number;
  walk_m?: number;
  opening_hours?: string;
  address?: string;
  route?: { type: 'LineString'; coordinates: Position[] };
}

export interface IsochroneProps {
  minutes: number;
  households: number;
  residents: number;
  residents_60plus: number;
}

export interface UnitCoverage {
  unit: string;
  name?: string;
  households: number;
  households_covered: number;
  share: number;
  residents_60plus: number;
  residents_60plus_covered: number;
  median_walk_min: number | null;
}

export interface CoverageResult extends Collection<UnitCoverage> {
  minutes: number;
  summary: UnitCoverage;
}

export interface GapMicrogrid {
  kind: 'microgrid';
  rank: number;
  unit: string;
  name?: string;
  uncovered_buildings: number;
  uncovered_households: number;
}

export interface GapBuilding {
  kind: 'building';
  households: number;
  walk_min: number | null;
}

export interface GapsResult extends Collection<GapMicrogrid | GapBuilding> {
  summary: { uncovered_households: number; uncovered_buildings: number; microgrids: number };
}

export interface UnitAudit {
  unit: string;
  name?: string;
  required: number;
  met: number;
  compliance_rate: number;
  missing: string[];
}

export interface AuditResult extends Collection<UnitAudit> {
  summary: UnitAudit;
}

export interface ScenarioUnit {
  unit: string;
  name?: string;
  before: UnitCoverage;
  after: UnitCoverage;
}

export interface ScenarioResult {
  categories: {
    category: string;
    total: { before: UnitCoverage; after: UnitCoverage };
    units: ScenarioUnit[];
  }[];
}

export interface ScenarioRequest {
  minutes: number;
  profile: Profile;
  level: Level;
  add?: Collection<{ category: string }> | { type: 'FeatureCollection'; features: { type: 'Feature'; geometry: { type: 'Point'; coordinates: Position }; properties: { category: string } }[] };
  remove?: string[];
  move?: { id: string; lon: number; lat: number }[];
}

export interface SitingProps {
  rank: number;
  added_households: number;
  added_residents: number;
  buildings: number;
}

/** The problem detail of a failed call, as the error message. */
async function check(r: Response): Promise<Response> {
  if (r.ok) return r;
  let detail = `${r.status} ${r.statusText}`;
  try {
    const p = (await r.json()) as { detail?: string };
    if (p.detail) detail = p.detail;
  } catch {
    /* not a problem document; keep the status line */
  }
  throw new Error(detail);
}

export async function get<T>(path: string, params: Record<string, string | number | boolean> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) q.set(k, String(v));
  const qs = q.toString();
  const r = await check(await fetch(qs ? `${path}?${qs}` : path, { headers: { Accept: 'application/json' } }));
  return (await r.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await check(
    await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  );
  return (await r.json()) as T;
}
