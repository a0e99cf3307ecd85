// Checks wsprobe's Grafana dashboards (dashboards/*.json) against Grafana's
// published types (@grafana/schema, pinned in package.json) with the
// TypeScript compiler, plus the structural rules the types cannot express.
//
//   node check-dashboards.mjs [FILE.json ...]   check the given dashboards
//                                               (default: ../../dashboards/*.json)
//   node check-dashboards.mjs --self-test       break a copy of a real dashboard
//                                               in known ways and require that
//                                               each break is reported
//
// How the type check works: every dashboard becomes a TypeScript file that
// assigns the JSON to a `Dashboard`, and every panel a file that assigns it to
// a panel type built from the panel plugin's own `Options` and `FieldConfig`
// (timeseries, stat, heatmap, ...) with Prometheus queries
// (`PrometheusDataQuery`). Object literals get TypeScript's excess-property
// check, so a misspelt or unknown key fails as well as a wrong type. Grafana's
// string enums are relaxed to their string values, which is what JSON holds.
//
// Exit status: 0 when everything passes, 1 when a check fails, 2 on a usage
// or setup error (for example node_modules missing: run `npm ci` here).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const schemaDir = path.join(here, 'node_modules', '@grafana', 'schema');
const composable = '@grafana/schema/dist/esm/raw/composable';

let ts;
try {
  ts = (await import('typescript')).default;
} catch (error) {
  console.error(`check-dashboards: cannot load typescript (run "npm ci" in ${here}): ${error.message}`);
  process.exit(2);
}
if (!fs.existsSync(path.join(schemaDir, 'package.json'))) {
  console.error(`check-dashboards: @grafana/schema is not installed (run "npm ci" in ${here})`);
  process.exit(2);
}

// Panel plugin id -> the module with its Options (and FieldConfig, when the
// plugin has custom field options).
const panelTypes = {
  timeseries: { module: 'timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen', fieldConfig: true },
  stat: { module: 'stat/panelcfg/x/StatPanelCfg_types.gen', fieldConfig: false },
  heatmap: { module: 'heatmap/panelcfg/x/HeatmapPanelCfg_types.gen', fieldConfig: true },
  table: { module: 'table/panelcfg/x/TablePanelCfg_types.gen', fieldConfig: true },
  bargauge: { module: 'bargauge/panelcfg/x/BarGaugePanelCfg_types.gen', fieldConfig: false },
  'state-timeline': { module: 'statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen', fieldConfig: true },
};

// Variables every wsprobe dashboard offers (issue 4).
const requiredVariables = ['datasource', 'job', 'instance', 'location', 'target'];

// Grafana's global variables that a query may use without defining them.
const builtinVariables = new Set([
  '__interval', '__interval_ms', '__rate_interval', '__range', '__range_s', '__range_ms',
  '__from', '__to', '__dashboard', '__org', '__user', '__timeFilter',
]);

const typesSource = `
import type * as schema from '@grafana/schema';
import type { PrometheusDataQuery } from '${composable}/prometheus/dataquery/x/PrometheusDataQuery_types.gen';

type IsAny<T> = 0 extends 1 & T ? true : false;
// JSON holds the string values of Grafana's string enums; TypeScript would
// only accept the enum members. Numeric enums accept their numbers already.
export type Loose<T> = IsAny<T> extends true ? T
  : T extends string ? \`\${T}\`
  : T extends number | boolean | null | undefined ? T
  : T extends Array<infer E> ? Array<Loose<E>>
  : T extends object ? { [K in keyof T]: Loose<T[K]> }
  : T;

export type Dashboard = Loose<schema.Dashboard>;
export type RowPanel = Loose<Omit<schema.RowPanel, 'panels'>> & { panels: Array<Record<string, unknown>> };

type Defaults<F> = Loose<Omit<schema.FieldConfig, 'custom'>> & { custom?: Loose<F> };

// A panel whose options, custom field config and queries are those of its plugin.
export type TypedPanel<O, F> =
  Loose<Omit<schema.Panel, 'options' | 'fieldConfig' | 'targets'>> & {
    options: Loose<O>;
    fieldConfig: { defaults: Defaults<F>; overrides: Loose<schema.FieldConfigSource['overrides']> };
    targets: Array<Loose<PrometheusDataQuery>>;
  };
`;

function variableNames(dashboard) {
  return new Set((dashboard.templating?.list ?? []).map((v) => v.name));
}

// Variables referenced as $name, ${name} or ${name:format} in a string.
function referencedVariables(text) {
  const names = [];
  for (const match of text.matchAll(/\$(?:\{([A-Za-z0-9_]+)(?::[^}]*)?\}|([A-Za-z0-9_]+))/g)) {
    names.push(match[1] ?? match[2]);
  }
  return names;
}

function flatPanels(dashboard) {
  const out = [];
  for (const panel of dashboard.panels ?? []) {
    out.push(panel);
    if (panel.type === 'row') out.push(...(panel.panels ?? []));
  }
  return out;
}

// Rules the types do not cover. Returns a list of problems (strings).
function structuralProblems(dashboard) {
  const problems = [];
  if (!dashboard.uid) problems.push('no uid');
  if (!dashboard.title) problems.push('no title');
  if (!(dashboard.schemaVersion >= 36)) problems.push(`schemaVersion ${dashboard.schemaVersion} is older than Grafana 10's`);

  const defined = variableNames(dashboard);
  for (const name of requiredVariables) {
    if (!defined.has(name)) problems.push(`variable $${name} is missing`);
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.name === 'datasource') {
      if (variable.type !== 'datasource' || variable.query !== 'prometheus') {
        problems.push('variable $datasource must be a Prometheus data source variable');
      }
    } else if (variable.type === 'query' && variable.datasource?.uid !== '${datasource}') {
      problems.push(`variable $${variable.name} does not query the $datasource data source`);
    }
    if (typeof variable.query === 'string') {
      for (const name of referencedVariables(variable.query)) {
        if (!defined.has(name) && !builtinVariables.has(name)) {
          problems.push(`variable $${variable.name} uses undefined variable $${name}`);
        }
      }
    }
  }

  const ids = new Set();
  const boxes = [];
  for (const panel of flatPanels(dashboard)) {
    const where = `panel ${panel.id} "${panel.title ?? ''}"`;
    if (ids.has(panel.id)) problems.push(`${where}: id ${panel.id} is used twice`);
    ids.add(panel.id);
    const g = panel.gridPos;
    if (!g) {
      problems.push(`${where}: no gridPos`);
    } else {
      if (g.x < 0 || g.w < 1 || g.x + g.w > 24) problems.push(`${where}: gridPos is outside the 24 columns`);
      for (const other of boxes) {
        const o = other.gridPos;
        if (g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h) {
          problems.push(`${where}: overlaps panel ${other.id} "${other.title ?? ''}"`);
        }
      }
      boxes.push(panel);
    }
    if (panel.type === 'row') continue;
    if (!panelTypes[panel.type]) problems.push(`${where}: panel type "${panel.type}" is not one this checker knows`);
    if (!panel.title) problems.push(`${where}: no title`);
    if (!panel.description) problems.push(`${where}: no description`);
    if (panel.datasource?.uid !== '${datasource}') problems.push(`${where}: does not use the $datasource variable`);
    const targets = panel.targets ?? [];
    if (targets.length === 0) problems.push(`${where}: no queries`);
    const refIds = new Set();
    for (const target of targets) {
      if (refIds.has(target.refId)) problems.push(`${where}: refId ${target.refId} is used twice`);
      refIds.add(target.refId);
      if (target.datasource?.uid !== '${datasource}') problems.push(`${where} query ${target.refId}: does not use $datasource`);
      if (typeof target.expr !== 'string' || target.expr.trim() === '') {
        problems.push(`${where} query ${target.refId}: no PromQL expression`);
        continue;
      }
      for (const name of referencedVariables(target.expr)) {
        if (!defined.has(name) && !builtinVariables.has(name)) {
          problems.push(`${where} query ${target.refId}: uses undefined variable $${name}`);
        }
      }
    }
  }
  return problems;
}

// Writes the TypeScript files for one dashboard into dir; returns a map from
// file name to a human description of what it checks.
function writeTypeCheckFiles(dir, key, dashboard) {
  const files = {};
  const json = (value) => JSON.stringify(value, null, 2);
  const dashboardFile = path.join(dir, `${key}.dashboard.ts`);
  fs.writeFileSync(dashboardFile,
    `import type { Dashboard } from './types';\nexport const dashboard: Dashboard = ${json(dashboard)};\n`);
  files[dashboardFile] = 'the dashboard';
  for (const panel of flatPanels(dashboard)) {
    const file = path.join(dir, `${key}.panel-${panel.id}.ts`);
    let source;
    if (panel.type === 'row') {
      source = `import type { RowPanel } from './types';\nexport const panel: RowPanel = ${json(panel)};\n`;
    } else if (panelTypes[panel.type]) {
      const { module, fieldConfig } = panelTypes[panel.type];
      const custom = fieldConfig ? 'plugin.FieldConfig' : 'Record<string, never>';
      source = `import type { TypedPanel } from './types';\n`
        + `import type * as plugin from '${composable}/${module}';\n`
        + `export const panel: TypedPanel<plugin.Options, ${custom}> = ${json(panel)};\n`;
    } else {
      continue;  // reported by structuralProblems
    }
    fs.writeFileSync(file, source);
    files[file] = `panel ${panel.id} "${panel.title ?? ''}" (${panel.type})`;
  }
  return files;
}

// Type-checks all files at once; returns a map from file to its error texts.
function typeCheck(dir, files) {
  fs.writeFileSync(path.join(dir, 'types.ts'), typesSource);
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    baseUrl: dir,
    paths: {
      '@grafana/schema': [path.join(schemaDir, 'dist', 'index.d.ts')],
      '@grafana/schema/*': [path.join(schemaDir, '*')],
    },
    types: [],
  };
  const program = ts.createProgram(Object.keys(files), options);
  const errors = {};
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file ? path.resolve(diagnostic.file.fileName) : '(global)';
    let where = '';
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      where = `line ${line + 1}:${character + 1}: `;
    }
    (errors[file] ??= []).push(where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    '));
  }
  return errors;
}

// Checks dashboards given as {key, name, dashboard}; returns {key: [problems]}.
function check(entries) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsprobe-dashboards-'));
  try {
    const problems = {};
    const allFiles = {};
    const owner = {};
    for (const { key, dashboard } of entries) {
      problems[key] = structuralProblems(dashboard);
      const files = writeTypeCheckFiles(dir, key, dashboard);
      Object.assign(allFiles, files);
      for (const file of Object.keys(files)) owner[file] = key;
    }
    const errors = typeCheck(dir, allFiles);
    for (const [file, texts] of Object.entries(errors)) {
      const key = owner[file];
      const what = allFiles[file] ?? path.basename(file);
      const target = key ? problems[key] : (problems['(global)'] ??= []);
      for (const text of texts) target.push(`${what}: ${text}`);
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function load(file) {
  const dashboard = JSON.parse(fs.readFileSync(file, 'utf8'));
  return { key: path.basename(file, '.json').replace(/[^A-Za-z0-9_-]/g, '_'), name: file, dashboard };
}

function defaultFiles() {
  const dir = path.resolve(here, '..', '..', 'dashboards');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f));
}

function checkFiles(files) {
  if (files.length === 0) {
    console.error('check-dashboards: no dashboards to check');
    return 2;
  }
  const entries = files.map(load);
  const uids = new Map();
  let failed = false;
  for (const { name, dashboard } of entries) {
    if (uids.has(dashboard.uid)) {
      console.log(`FAIL ${name}: uid "${dashboard.uid}" is also used by ${uids.get(dashboard.uid)}`);
      failed = true;
    }
    uids.set(dashboard.uid, name);
  }
  const problems = check(entries);
  for (const { key, name, dashboard } of entries) {
    const list = problems[key];
    const panels = flatPanels(dashboard).filter((p) => p.type !== 'row').length;
    if (list.length === 0) {
      console.log(`ok   ${name}: "${dashboard.title}", ${panels} panels, matches @grafana/schema`);
    } else {
      failed = true;
      console.log(`FAIL ${name}:`);
      for (const problem of list) console.log(`     ${problem}`);
    }
  }
  for (const problem of problems['(global)'] ?? []) {
    failed = true;
    console.log(`FAIL ${problem}`);
  }
  return failed ? 1 : 0;
}

// Each mutation breaks a copy of a real dashboard in one way that the checker
// must report; the unbroken copy must pass.
function selfTest() {
  const original = load(defaultFiles()[0]).dashboard;
  const firstOfType = (d, type) => flatPanels(d).find((p) => p.type === type);
  // name -> [how to break the copy, a text the report must contain]
  const mutations = {
    unchanged: null,
    'unknown dashboard key': [(d) => { d.pannels = []; }, '"pannels"\' does not exist'],
    'wrong legend display mode': [(d) => { firstOfType(d, 'timeseries').options.legend.displayMode = 'sideways'; }, '"sideways"'],
    'unknown timeseries option': [(d) => { firstOfType(d, 'timeseries').options.stackng = true; }, '"stackng"\' does not exist'],
    'wrong heatmap colour mode': [(d) => { firstOfType(d, 'heatmap').options.color.mode = 'rainbow'; }, '"rainbow"'],
    'stat without reduceOptions': [(d) => { delete firstOfType(d, 'stat').options.reduceOptions; }, 'reduceOptions'],
    'unknown query format': [(d) => { firstOfType(d, 'timeseries').targets[0].format = 'graph'; }, '"graph"'],
    'wrong field colour mode': [(d) => { firstOfType(d, 'timeseries').fieldConfig.defaults.color.mode = 'pastel'; }, '"pastel"'],
    'custom field options on a stat': [(d) => { firstOfType(d, 'stat').fieldConfig.defaults.custom = { lineWidth: 1 }; }, "not assignable to type 'never'"],
    'variable option without a value': [(d) => { d.templating.list[1].current = { text: 'All' }; }, "'value' is missing"],
    'duplicate panel id': [(d) => { const [, a, b] = flatPanels(d); b.id = a.id; }, 'is used twice'],
    'undefined variable': [(d) => { firstOfType(d, 'timeseries').targets[0].expr += ' * on () group_left () $tenant'; }, 'undefined variable $tenant'],
    'overlapping panels': [(d) => { const [, a, b] = flatPanels(d); b.gridPos = { ...a.gridPos }; }, 'overlaps panel'],
    'missing target variable': [(d) => { d.templating.list = d.templating.list.filter((v) => v.name !== 'target'); }, 'variable $target is missing'],
    'fixed data source': [(d) => { firstOfType(d, 'heatmap').datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' }; }, 'does not use the $datasource variable'],
  };
  const entries = Object.entries(mutations).map(([name, mutation], i) => {
    const dashboard = structuredClone(original);
    if (mutation) mutation[0](dashboard);
    return { key: `m${i}`, name, dashboard };
  });
  const problems = check(entries);
  let failed = false;
  for (const { key, name } of entries) {
    const list = problems[key];
    const expected = mutations[name]?.[1];
    const found = expected === undefined ? list.length === 0 : list.some((p) => p.includes(expected));
    if (found) {
      console.log(`ok   ${name}: ${expected === undefined ? 'passes' : `reported (${expected})`}`);
    } else {
      failed = true;
      console.log(`FAIL ${name}: ${expected === undefined ? 'expected no problem' : `expected a report containing ${expected}`}; got: ${list.length ? list.join('; ') : 'nothing'}`);
    }
  }
  return failed ? 1 : 0;
}

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log('usage: node check-dashboards.mjs [--self-test | FILE.json ...]');
  process.exit(0);
}
process.exit(args.includes('--self-test') ? selfTest() : checkFiles(args.length ? args : defaultFiles()));
