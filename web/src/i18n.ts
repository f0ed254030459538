// Chinese first; English as a toggle. Every visible string of the page lives here.

const zh = {
  title: '李家沱 15分钟生活圈',
  resident: '居民',
  planner: '规划',
  mapLabel: '地图',
  modelled: '模型数据：位置与数量按公开数字校准模拟，并非实测；人名与电话为示例。',
  hintResident: '点击地图、使用定位或搜索地名，查看所属网格、网格员和最近的服务设施。',
  search: '搜索地名（支持拼音首字母，如 mwp）',
  locateMe: '使用我的位置',
  geoFailed: '无法获取位置：',
  category: '服务类别',
  profile: '步行人群',
  standard: '一般成人',
  elder: '老年人',
  wheelchair: '轮椅',
  place: '所在位置',
  community: '社区',
  grid: '网格',
  microgrid: '微网格',
  compound: '小区',
  gridWorker: '网格员',
  serviceList: '三级服务清单',
  subdistrictLevel: '街道',
  communityLevel: '社区',
  gridLevel: '网格',
  nearest: '最近的设施（按步行时间）',
  minutes: '分钟',
  metres: '米',
  hours: '开放时间',
  showRoute: '显示路线',
  isochrone: '步行可达范围',
  households: '户',
  residents: '人',
  elders: '60岁以上',
  none: '无',
  loading: '加载中…',
  outside: '该点不在街道范围内或离步行道太远。',
  coverage: '覆盖率',
  level: '统计单元',
  levelGrid: '网格',
  levelMicrogrid: '微网格',
  levelCommunity: '社区',
  walkMinutes: '步行时间',
  summary: '全街道',
  covered: '已覆盖',
  legend: '图例：覆盖户数比例',
  legendAudit: '图例：达标率（审计）',
  gaps: '缺口（未覆盖最多的微网格）',
  showGaps: '查看缺口',
  audit: '达标审计',
  standardLabel: '标准',
  gb50180: 'GB 50180-2018',
  mofcom: '商务部便民生活圈',
  runAudit: '审计',
  compliance: '达标率',
  missing: '缺项',
  whatIf: '情景模拟',
  whatIfHint: '点“添加设施”后在地图上点一下放置新设施；拖动已有设施可移动，选中后可删除。',
  addFacility: '添加设施',
  removeSelected: '删除选中设施',
  reset: '重置',
  before: '之前',
  after: '之后',
  change: '变化',
  siting: '选址建议',
  sites: '新增站点数',
  runSiting: '计算选址',
  addsHouseholds: '新增覆盖户数',
  download: '下载当前表格',
  unit: '单元',
  share: '比例',
  rank: '名次',
  uncovered: '未覆盖户数',
  error: '出错了：',
  clickToPlace: '在地图上点击放置新设施',
} as const;

export type Key = keyof typeof zh;
export type Lang = 'zh' | 'en';

const en: Record<Key, string> = {
  title: 'Lijiatuo 15-minute living circle',
  resident: 'Resident',
  planner: 'Planner',
  mapLabel: 'Map',
  modelled: 'Modelled data: positions and counts are calibrated to published figures, not surveyed; names and phone numbers are placeholders.',
  hintResident: 'Tap the map, use your location or search a place to see your grid, grid worker and the nearest services.',
  search: 'Search a place (pinyin initials work, e.g. mwp)',
  locateMe: 'Use my location',
  geoFailed: 'Location unavailable: ',
  category: 'Service',
  profile: 'Walker',
  standard: 'Adult',
  elder: 'Older adult',
  wheelchair: 'Wheelchair',
  place: 'This place',
  community: 'Community',
  grid: 'Grid',
  microgrid: 'Micro-grid',
  compound: 'Compound',
  gridWorker: 'Grid worker',
  serviceList: 'Three-level service list',
  subdistrictLevel: 'Subdistrict',
  communityLevel: 'Community',
  gridLevel: 'Grid',
  nearest: 'Nearest by walking time',
  minutes: 'min',
  metres: 'm',
  hours: 'Opening hours',
  showRoute: 'Show route',
  isochrone: 'Walking area',
  households: 'households',
  residents: 'residents',
  elders: 'aged 60+',
  none: 'none',
  loading: 'Loading…',
  outside: 'This point is outside the subdistrict or too far from any walkway.',
  coverage: 'Coverage',
  level: 'Units',
  levelGrid: 'Grids',
  levelMicrogrid: 'Micro-grids',
  levelCommunity: 'Communities',
  walkMinutes: 'Walking time',
  summary: 'Whole subdistrict',
  covered: 'covered',
  legend: 'Legend: share of households covered',
  legendAudit: 'Legend: compliance rate (audit)',
  gaps: 'Gaps (micro-grids with most uncovered households)',
  showGaps: 'Show gaps',
  audit: 'Audit',
  standardLabel: 'Standard',
  gb50180: 'GB 50180-2018',
  mofcom: 'MOFCOM convenience circle',
  runAudit: 'Audit',
  compliance: 'Compliance',
  missing: 'Missing',
  whatIf: 'What if',
  whatIfHint: 'Press “Add facility”, then tap the map to place one; drag an existing facility to move it; select one to remove it.',
  addFacility: 'Add facility',
  removeSelected: 'Remove selected',
  reset: 'Reset',
  before: 'Before',
  after: 'After',
  change: 'Change',
  siting: 'Siting',
  sites: 'New sites',
  runSiting: 'Suggest sites',
  addsHouseholds: 'households added',
  download: 'Download this table',
  unit: 'Unit',
  share: 'Share',
  rank: 'Rank',
  uncovered: 'Uncovered households',
  error: 'Error: ',
  clickToPlace: 'Tap the map to place the new facility',
};

let lang: Lang = 'zh';

export function getLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  applyStatic();
}

export function t(key: Key): string {
  return lang === 'zh' ? zh[key] : en[key];
}

/** Translate the static markup: `data-i18n` (text) and `data-i18n-aria` (aria-label). */
export function applyStatic(root: ParentNode = document): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n as Key);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAria as Key));
  });
}

/** A category's name in the current language. */
export function categoryName(c: { id: string; name_zh?: string; name_en?: string }): string {
  return (lang === 'zh' ? c.name_zh : c.name_en) ?? c.id;
}
