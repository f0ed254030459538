// The page state that a shared link carries, kept in the URL's query string.
import type { Level, Profile } from './api';

export interface State {
  view: 'resident' | 'planner';
  lang: 'zh' | 'en';
  /** Chosen place, WGS84. */
  lon?: number;
  lat?: number;
  cat: string;
  profile: Profile;
  /** Map centre (WGS84) and zoom. */
  c?: [number, number];
  z?: number;
  minutes: number;
  level: Level;
}

const PROFILES: Profile[] = ['standard', 'elder', 'wheelchair'];
const LEVELS: Level[] = ['grid', 'microgrid', 'community'];

function num(s: string | null): number | undefined {
  if (s === null || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function readState(search: string): State {
  const q = new URLSearchParams(search);
  const c = (q.get('c') ?? '').split(',').map(Number);
  const profile = q.get('profile') as Profile;
  const level = q.get('level') as Level;
  const minutes = num(q.get('minutes'));
  return {
    view: q.get('view') === 'planner' ? 'planner' : 'resident',
    lang: q.get('lang') === 'en' ? 'en' : 'zh',
    lon: num(q.get('lon')),
    lat: num(q.get('lat')),
    cat: q.get('cat') || 'elder_canteen',
    profile: PROFILES.includes(profile) ? profile : 'standard',
    c: c.length === 2 && c.every(Number.isFinite) ? [c[0], c[1]] : undefined,
    z: num(q.get('z')),
    minutes: minutes !== undefined && minutes > 0 && minutes <= 60 ? minutes : 15,
    level: LEVELS.includes(level) ? level : 'grid',
  };
}

export function writeState(s: State): void {
  const q = new URLSearchParams();
  if (s.view !== 'resident') q.set('view', s.view);
  if (s.lang !== 'zh') q.set('lang', s.lang);
  if (s.lon !== undefined && s.lat !== undefined) {
    q.set('lon', s.lon.toFixed(6));
    q.set('lat', s.lat.toFixed(6));
  }
  q.set('cat', s.cat);
  q.set('profile', s.profile);
  if (s.view === 'planner') {
    q.set('minutes', String(s.minutes));
    q.set('level', s.level);
  }
  if (s.c) q.set('c', `${s.c[0].toFixed(5)},${s.c[1].toFixed(5)}`);
  if (s.z !== undefined) q.set('z', s.z.toFixed(2));
  window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
}
