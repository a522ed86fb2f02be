// The admin console: a single-page app over the same API (/api/v1) the clients use, written
// without a framework or a build step (docs/console.md). Everything shown is built with
// textContent, never innerHTML, so data from the API cannot inject markup. The credential lives
// in sessionStorage only and goes out in a header (X-API-Key or Authorization), never in a URL.
'use strict';
(() => {
  const STORE = 'game-console-credential';
  const API = '/api/v1';
  const POLL_MS = 3000;
  const COLORS = ['#0b4f9c', '#b35900', '#1d6b2f', '#7a1fa2', '#a3141b'];

  // ---- small DOM helpers -------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  let uid = 0;
  // A labelled form control: <label for> + the control, wrapped for the .row layout.
  function field(label, control) {
    if (!control.id) control.id = 'f' + (++uid);
    return h('label', { for: control.id }, h('span', {}, label), control);
  }
  const input = (attrs) => h('input', attrs);
  function select(options, attrs) {
    return h('select', attrs, options.map(([value, text]) => h('option', { value }, text)));
  }
  function table(columns, rows, attrs) {
    return h('div', { class: 'scroll' }, h('table', attrs || {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => {
        const v = c.get(r);
        return h('td', { class: c.num ? 'num' : null }, v instanceof Node ? v : fmt(v));
      }))))));
  }
  function fmt(v) {
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  const col = (label, key, num) => ({ label, num, get: typeof key === 'function' ? key : (r) => r[key] });
  const enc = encodeURIComponent;
  const items = (r) => (Array.isArray(r) ? r : (r && (r.items || r.versions)) || []);

  const status = document.getElementById('status');
  let said = 0;
  function say(text, kind) {
    said = Date.now();
    status.textContent = text || '';
    status.className = 'status' + (kind ? ' ' + kind : '');
  }

  // ---- the credential and the API ----------------------------------------------------------
  function credential() {
    try { return JSON.parse(sessionStorage.getItem(STORE)); } catch { return null; }
  }
  class Problem extends Error {
    constructor(status, body) {
      const b = body && typeof body === 'object' ? body : {};
      super(b.detail || b.title || (typeof body === 'string' && body) || 'HTTP ' + status);
      this.status = status;
      this.body = b;
      this.code = b.code;
    }
  }
  async function call(method, path, body, raw) {
    const cred = credential();
    const headers = { Accept: 'application/json' };
    if (cred && cred.kind === 'bearer') headers.Authorization = 'Bearer ' + cred.value;
    else if (cred) headers['X-API-Key'] = cred.value;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(API + path, {
      method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (raw && res.ok) return res;
    const text = await res.text();
    let data = text;
    try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
    if (!res.ok) {
      if (res.status === 401) logout('The API refused the credential: ' + (data && data.detail || res.status));
      throw new Problem(res.status, data);
    }
    return data;
  }
  const get = (path) => call('GET', path);
  const problemText = (e) => (e.code ? e.code + ': ' : '') + e.message;

  function logout(message) {
    sessionStorage.removeItem(STORE);
    stopTimers();
    document.getElementById('nav').hidden = true;
    document.getElementById('logout').hidden = true;
    view.replaceChildren(loginSection);
    say(message === undefined ? 'Logged out.' : message, message ? 'error' : null);
    document.getElementById('credential').focus();
  }

  const view = document.getElementById('view');
  const loginSection = document.getElementById('login');
  document.getElementById('logout').addEventListener('click', () => { location.hash = ''; logout(); });
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const value = form.credential.value.trim();
    const kind = form.kind.value;
    if (!value) return;
    sessionStorage.setItem(STORE, JSON.stringify({ kind, value }));
    form.credential.value = '';
    try {
      await get('/games?pageSize=1');
      say('Logged in.', 'ok');
      if (!location.hash || location.hash === '#') location.hash = '#/games';
      else route();
    } catch (e) {
      if (e.status !== 401) logout('Could not log in: ' + problemText(e));
    }
  });

  // ---- routing -----------------------------------------------------------------------------
  let timers = [];
  let plots = [];
  let generation = 0;
  function stopTimers() {
    timers.forEach(clearInterval);
    timers = [];
    plots.forEach((p) => p.destroy());
    plots = [];
  }
  const routes = [
    [/^#\/games$/, viewGames],
    [/^#\/games\/([^/]+)$/, viewGame],
    [/^#\/games\/([^/]+)\/feed$/, viewFeed],
    [/^#\/games\/([^/]+)\/charts$/, viewCharts],
    [/^#\/user$/, viewUserLookup],
    [/^#\/users\/([^/]+)$/, viewUser],
    [/^#\/strategies$/, viewStrategies],
    [/^#\/strategies\/([^/]+)$/, viewStrategy],
    [/^#\/exports$/, viewExports],
    [/^#\/dashboard$/, viewDashboard],
  ];
  async function route() {
    if (!credential()) { logout(''); return; }
    document.getElementById('nav').hidden = false;
    document.getElementById('logout').hidden = false;
    stopTimers();
    const gen = ++generation;
    const hash = location.hash || '#/games';
    for (const a of document.querySelectorAll('nav a')) {
      const here = hash === a.getAttribute('href') || hash.startsWith(a.getAttribute('href') + '/');
      if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    const found = routes.find(([re]) => re.test(hash));
    const title = h('h2', { tabindex: '-1' }, 'Loading…');
    view.replaceChildren(title);
    if (!found) { title.textContent = 'Not found'; return; }
    const args = hash.match(found[0]).slice(1).map(decodeURIComponent);
    try {
      await found[1](title, gen, ...args);
      if (gen === generation) { title.focus(); document.title = title.textContent + ' · GAME-rs console'; }
    } catch (e) {
      if (gen !== generation) return;
      title.textContent = 'Could not load this view';
      view.append(h('p', { class: 'error', role: 'alert' }, problemText(e)));
    }
  }
  // A message outlives the navigation it caused (created → the new game's view), no more.
  window.addEventListener('hashchange', () => { if (Date.now() - said > 1500) say(''); route(); });

  // ---- charts (uPlot) ----------------------------------------------------------------------
  function plotSize(el) {
    const w = (el && el.clientWidth) || 600;
    return { width: Math.max(240, w - 24), height: w < 500 ? 200 : 260 };
  }
  // A bar chart: `labels` are categories (strings) or, with time, UTC days (YYYY-MM-DD).
  // Every chart has its numbers as a table beside it (screen readers, copying, the tests).
  function barChart(parent, title, labels, series, opts) {
    const o = opts || {};
    const fig = h('figure', { class: 'chart', 'aria-label': title });
    const plotEl = h('div', { role: 'img', 'aria-label': title + ': ' + labels.length + ' bars; the numbers are in the table below' });
    fig.append(h('h3', {}, title), plotEl);
    const rows = labels.map((l, i) => ({ l, i }));
    fig.append(h('details', {}, h('summary', {}, 'Data: ' + title),
      table([col(o.xLabel || 'Label', 'l'), ...series.map((s) => col(s.label, (r) => round(s.values[r.i]), true))], rows,
        { 'data-chart': title })));
    parent.append(fig);
    if (!labels.length) { plotEl.append(h('p', {}, 'No data yet.')); return fig; }
    // Categories on x (days too: every bucket is a bar, which a time scale would not promise).
    const xs = labels.map((_, i) => i);
    const bars = uPlot.paths.bars({ size: [0.6, 48] });
    const scales = { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } };
    // About one tick label per 80 px; a day shows as MM-DD (the table has the whole date).
    const every = Math.max(1, Math.ceil(labels.length / Math.max(3, Math.floor(plotSize(fig).width / 80))));
    const axes = [{ splits: () => xs.filter((i) => i % every === 0), values: (u, splits) => splits.map((i) => short(labels[i])) }];
    const uSeries = [{ label: o.xLabel || 'x', value: (u, v) => (v == null ? '' : labels[v]) }];
    series.forEach((s, k) => {
      const scale = k === 0 ? 'y' : 'y' + k;
      scales[scale] = { range: (u, min, max) => [0, Math.max(1, max) * 1.1] };
      axes.push({ scale, side: k === 0 ? 3 : 1, grid: { show: k === 0 }, label: series.length > 1 ? s.label : undefined });
      uSeries.push({ label: s.label, scale, stroke: COLORS[k], fill: COLORS[k] + (series.length > 1 ? '66' : 'cc'),
        width: 1, paths: series.length > 1 && k > 0 ? undefined : bars, points: { show: series.length > 1 && k > 0 } });
    });
    const plot = new uPlot({ ...plotSize(fig), scales, axes, series: uSeries, legend: { show: true } }, [xs, ...series.map((s) => s.values)], plotEl);
    plots.push(plot);
    // Follow the figure's width (a scroll bar appearing, a rotated phone, a resized window).
    if (window.ResizeObserver) {
      const ro = new ResizeObserver(() => plot.setSize(plotSize(fig)));
      ro.observe(fig);
      const destroy = plot.destroy.bind(plot);
      plot.destroy = () => { ro.disconnect(); destroy(); };
    }
    return fig;
  }
  const round = (n) => (typeof n === 'number' ? Math.round(n * 1000) / 1000 : n);
  const short = (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? s.slice(5) : s && s.length > 14 ? s.slice(0, 13) + '…' : s);

  // ---- games and tasks ---------------------------------------------------------------------
  let strategyOptions = null;
  async function strategies() {
    if (strategyOptions) return strategyOptions;
    const builtIn = items(await get('/strategies')).map((s) => [s.id, s.name ? s.id + ' — ' + s.name : s.id]);
    let custom = [];
    try {
      custom = items(await get('/strategies/custom?status=PUBLISHED'))
        .filter((s) => s.status === 'PUBLISHED')
        .map((s) => [s.strategyId, s.strategyId + ' — ' + s.name + ' (custom)']);
    } catch { /* a caller that cannot list custom strategies still picks a built-in one */ }
    strategyOptions = [...builtIn, ...custom];
    return strategyOptions;
  }
  function strategySelect(current, allowNone) {
    const opts = (allowNone ? [['', '(the game\'s strategy)']] : []).concat(strategyOptions);
    if (current && !opts.some(([v]) => v === current)) opts.push([current, current]);
    const s = select(opts, { name: 'strategyId' });
    s.value = current || '';
    return s;
  }
  // Params editor: rows of key + JSON value; returns {el, read()}.
  function paramsEditor(params) {
    const body = h('tbody');
    const addRow = (p) => {
      const key = input({ value: p.key || '', 'aria-label': 'Parameter key', name: 'paramKey' });
      const value = input({ value: p.value === undefined ? '' : JSON.stringify(p.value), 'aria-label': 'Parameter value (JSON)', name: 'paramValue' });
      const tr = h('tr', { 'data-id': p.id || '' }, h('td', {}, key), h('td', {}, value),
        h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => tr.remove(), 'aria-label': 'Remove parameter ' + (p.key || '') }, 'Remove')));
      body.append(tr);
      return key;
    };
    params.forEach(addRow);
    const el = h('div', {}, h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Value (JSON: 20, "text", true)'), h('th', {}, ''))), body)),
      h('button', { type: 'button', class: 'secondary', onclick: () => addRow({}).focus() }, 'Add parameter'));
    const read = () => [...body.rows].map((tr) => {
      const [k, v] = tr.querySelectorAll('input');
      let value = v.value.trim();
      try { value = JSON.parse(value); } catch { /* a bare word is a string */ }
      const p = { key: k.value.trim(), value };
      if (tr.dataset.id) p.id = tr.dataset.id;
      return p;
    }).filter((p) => p.key);
    return { el, read };
  }
  function variablesTable(strategy) {
    const vars = (strategy && strategy.variables) || {};
    const rows = Object.entries(vars).map(([name, value]) => ({ name, value }));
    return h('div', {}, h('p', {}, 'Strategy ', h('code', {}, (strategy && strategy.id) || '?'), strategy && strategy.variables_error ? h('span', { class: 'error' }, ' — ' + strategy.variables_error) : ''),
      table([col('Variable', 'name'), col('Effective value', 'value', true)], rows, { 'aria-label': 'Effective variables' }));
  }

  async function viewGames(title, gen) {
    title.textContent = 'Games';
    await strategies();
    const list = items(await get('/games?pageSize=100'));
    if (gen !== generation) return;
    const ext = input({ name: 'externalGameId', required: true, maxlength: 200 });
    const platform = input({ name: 'platform', required: true, value: 'web' });
    const strat = strategySelect('default');
    const form = h('form', { class: 'panel', 'aria-label': 'Create a game' }, h('h3', {}, 'Create a game'),
      h('div', { class: 'row' }, field('External game id', ext), field('Platform', platform), field('Strategy', strat),
        h('button', { type: 'submit' }, 'Create game')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const g = await call('POST', '/games', { externalGameId: ext.value.trim(), platform: platform.value.trim(), strategyId: strat.value, params: [] });
        say('Game ' + (g.externalGameId || ext.value) + ' created.', 'ok');
        location.hash = '#/games/' + enc(g.gameId || (g.game && g.game.gameId));
      } catch (e) { say('Could not create the game: ' + problemText(e), 'error'); }
    });
    view.append(form, table([
      col('External id', (g) => h('a', { href: '#/games/' + enc(g.gameId) }, g.externalGameId)),
      col('Platform', 'platform'), col('Strategy', 'strategyId'), col('Updated', 'updated_at'),
      col('Views', (g) => h('span', {}, h('a', { href: '#/games/' + enc(g.gameId) + '/feed' }, 'feed'), ' · ', h('a', { href: '#/games/' + enc(g.gameId) + '/charts' }, 'charts'))),
    ], list, { 'aria-label': 'Games' }));
    if (!list.length) view.append(h('p', {}, 'No games yet.'));
  }

  async function viewGame(title, gen, gameId) {
    await strategies();
    const [game, effective, tasks] = await Promise.all([
      get('/games/' + enc(gameId)), get('/games/' + enc(gameId) + '/strategy'), get('/games/' + enc(gameId) + '/tasks?pageSize=100')]);
    if (gen !== generation) return;
    title.textContent = 'Game ' + game.externalGameId;
    view.append(h('p', {}, h('a', { href: '#/games/' + enc(gameId) + '/feed' }, 'Live award feed'), ' · ',
      h('a', { href: '#/games/' + enc(gameId) + '/charts' }, 'Charts'), ' · game id ', h('code', {}, game.gameId)));
    const platform = input({ name: 'platform', value: game.platform });
    const strat = strategySelect(game.strategyId);
    const params = paramsEditor(game.params || []);
    const form = h('form', { class: 'panel', 'aria-label': 'Game settings' }, h('h3', {}, 'Settings'),
      h('div', { class: 'row' }, field('Platform', platform), field('Strategy', strat)),
      h('h4', {}, 'Parameters'), params.el, h('p', {}, h('button', { type: 'submit' }, 'Save game')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await call('PATCH', '/games/' + enc(gameId), { platform: platform.value.trim(), strategyId: strat.value, params: params.read() });
        say('Game saved.', 'ok');
        route();
      } catch (e) { say('Could not save the game: ' + problemText(e), 'error'); }
    });
    view.append(h('div', { class: 'grid2' }, form,
      h('section', { class: 'panel', 'aria-labelledby': 'eff-title' }, h('h3', { id: 'eff-title' }, 'Effective variables (game)'), variablesTable(effective))));

    const ext = input({ name: 'externalTaskId', required: true, maxlength: 200 });
    const tstrat = strategySelect('', true);
    const tform = h('form', { class: 'panel', 'aria-label': 'Create a task' }, h('h3', {}, 'Create a task'),
      h('div', { class: 'row' }, field('External task id', ext), field('Strategy', tstrat), h('button', { type: 'submit' }, 'Create task')));
    tform.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { externalTaskId: ext.value.trim() };
      if (tstrat.value) body.strategyId = tstrat.value;
      try {
        await call('POST', '/games/' + enc(gameId) + '/tasks', body);
        say('Task ' + body.externalTaskId + ' created.', 'ok');
        route();
      } catch (e) { say('Could not create the task: ' + problemText(e), 'error'); }
    });
    const editor = h('div');
    const openTask = (t) => {
      const s = strategySelect(t.strategyId, true);
      const p = paramsEditor(t.taskParams || []);
      const f = h('form', { class: 'panel', 'aria-label': 'Task ' + t.externalTaskId },
        h('h3', {}, 'Task ' + t.externalTaskId), h('div', { class: 'row' }, field('Strategy', s)),
        h('h4', {}, 'Task parameters (the complete set)'), p.el,
        h('p', {}, h('button', { type: 'submit' }, 'Save task'), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => editor.replaceChildren() }, 'Close')),
        h('h4', {}, 'Effective variables (game, then task params)'), variablesTable(t.strategy));
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const body = { params: p.read() };
        if (s.value) body.strategyId = s.value;
        try {
          const saved = await call('PATCH', '/games/' + enc(gameId) + '/tasks/' + enc(t.externalTaskId), body);
          say('Task saved.', 'ok');
          openTask(saved.task || saved);
        } catch (e) { say('Could not save the task: ' + problemText(e), 'error'); }
      });
      editor.replaceChildren(f);
      f.querySelector('select').focus();
    };
    view.append(h('h3', {}, 'Tasks'), table([
      col('External task id', 'externalTaskId'), col('Strategy', 'strategyId'), col('Status', 'status'),
      col('Params', (t) => (t.taskParams || []).map((p) => p.key + '=' + JSON.stringify(p.value)).join(', ')),
      col('', (t) => h('button', { type: 'button', class: 'secondary', onclick: () => openTask(t), 'aria-label': 'Edit task ' + t.externalTaskId }, 'Edit')),
    ], items(tasks), { 'aria-label': 'Tasks' }), editor, tform);
    view.append(await leaderboardsPanel(gameId));
  }

  // Each board of the game with its current period's top 10.
  async function leaderboardsPanel(gameId) {
    const panel = h('section', { class: 'panel', id: 'leaderboards', 'aria-labelledby': 'boards-title' }, h('h3', { id: 'boards-title' }, 'Leaderboards'));
    try {
      const boards = items(await get('/games/' + enc(gameId) + '/leaderboards'));
      const tops = await Promise.all(boards.map((b) => get('/games/' + enc(gameId) + '/leaderboards/' + enc(b.key) + '/entries?limit=10')));
      boards.forEach((b, i) => {
        const top = tops[i];
        panel.append(h('h4', {}, b.key + ' — ' + b.metric + ', ' + b.period + ' (' + b.timeZone + '), ' + top.periodKey + ', ' + top.entrants + ' entrants'),
          top.entries.length
            ? table([col('Rank', 'rank', true), col('User', (e) => userLink(e.externalUserId)), col('Score', 'score', true), col('Reached', 'reachedAt')], top.entries, { 'aria-label': 'Leaderboard ' + b.key })
            : h('p', {}, 'No entries in this period yet.'));
      });
    } catch (e) { panel.append(h('p', { class: 'error' }, problemText(e))); }
    return panel;
  }

  // Every award of a game, newest first, from GET /games/{id}/points/details.
  function awardsOf(details) {
    const out = [];
    for (const t of (details && details.task) || []) {
      for (const u of t.points || []) {
        for (const d of u.pointsData || []) {
          out.push({ task: t.externalTaskId, user: u.externalUserId, points: d.points, caseName: d.caseName, at: d.created_at });
        }
      }
    }
    return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }
  const key = (a) => [a.at, a.task, a.user, a.points, a.caseName].join('|');
  const userLink = (id) => h('a', { href: '#/users/' + enc(id) }, id);

  async function viewFeed(title, gen, gameId) {
    const game = await get('/games/' + enc(gameId));
    if (gen !== generation) return;
    title.textContent = 'Live awards: ' + game.externalGameId;
    const note = h('p', { 'aria-live': 'polite' }, '');
    const box = h('div');
    view.append(h('p', {}, 'Polls every ' + POLL_MS / 1000 + ' s. ', h('a', { href: '#/games/' + enc(gameId) }, 'Back to the game')), note, box);
    let seen = null;
    const tick = async () => {
      try {
        const awards = awardsOf(await get('/games/' + enc(gameId) + '/points/details'));
        if (gen !== generation) return;
        const fresh = seen ? awards.filter((a) => !seen.has(key(a))) : [];
        seen = new Set(awards.map(key));
        const t = table([col('When (UTC)', 'at'), col('User', (a) => userLink(a.user)), col('Task', 'task'), col('Points', 'points', true), col('Case', 'caseName')],
          awards.slice(0, 100), { 'aria-label': 'Latest awards', id: 'feed' });
        fresh.forEach((a) => { const i = awards.indexOf(a); if (i < 100) t.querySelectorAll('tbody tr')[i].classList.add('fresh'); });
        box.replaceChildren(t);
        note.textContent = (fresh.length ? fresh.length + ' new award(s). ' : '') + awards.length + ' award(s) in total; updated ' + new Date().toISOString().slice(11, 19) + ' UTC.';
      } catch (e) { note.textContent = 'Polling failed: ' + problemText(e); }
    };
    await tick();
    timers.push(setInterval(tick, POLL_MS));
  }

  // Users grouped by how much they take part (awards in this game): the adaptive strategies
  // give newcomers and rare participants more, which shows as the groups' share of points.
  const GROUPS = [['1 award', 1, 1], ['2–4 awards', 2, 4], ['5–9 awards', 5, 9], ['10+ awards', 10, Infinity]];
  async function viewCharts(title, gen, gameId) {
    const [game, details] = await Promise.all([get('/games/' + enc(gameId)), get('/games/' + enc(gameId) + '/points/details')]);
    if (gen !== generation) return;
    title.textContent = 'Charts: ' + game.externalGameId;
    view.append(h('p', {}, h('a', { href: '#/games/' + enc(gameId) }, 'Back to the game'), ' · ', h('a', { href: '#/games/' + enc(gameId) + '/feed' }, 'Live feed')));
    const awards = awardsOf(details);
    const days = new Map();
    const cases = new Map();
    const perUser = new Map();
    for (const a of awards) {
      const d = String(a.at).slice(0, 10);
      const day = days.get(d) || { awards: 0, points: 0 };
      day.awards += 1; day.points += Number(a.points) || 0; days.set(d, day);
      cases.set(a.caseName || '(none)', (cases.get(a.caseName || '(none)') || 0) + (Number(a.points) || 0));
      const u = perUser.get(a.user) || { n: 0, points: 0 };
      u.n += 1; u.points += Number(a.points) || 0; perUser.set(a.user, u);
    }
    // Every day from the first award to the last, so quiet days show as zero.
    const known = [...days.keys()].sort();
    const dayLabels = [];
    if (known.length) {
      for (let t = Date.parse(known[0] + 'T00:00:00Z'), end = Date.parse(known[known.length - 1] + 'T00:00:00Z'); t <= end; t += 86400000) {
        const d = new Date(t).toISOString().slice(0, 10);
        dayLabels.push(d);
        if (!days.has(d)) days.set(d, { awards: 0, points: 0 });
      }
    }
    const grid = h('div', { class: 'grid2' });
    view.append(grid);
    barChart(grid, 'Awards per day', dayLabels, [{ label: 'Awards', values: dayLabels.map((d) => days.get(d).awards) }], { time: true, xLabel: 'Day (UTC)' });
    barChart(grid, 'Points per day', dayLabels, [{ label: 'Points', values: dayLabels.map((d) => days.get(d).points) }], { time: true, xLabel: 'Day (UTC)' });
    const caseLabels = [...cases.keys()].sort();
    barChart(grid, 'Points per case name', caseLabels, [{ label: 'Points', values: caseLabels.map((c) => cases.get(c)) }], { xLabel: 'Case name' });
    const total = [...perUser.values()].reduce((s, u) => s + u.points, 0) || 1;
    const groups = GROUPS.map(([label, lo, hi]) => {
      const members = [...perUser.values()].filter((u) => u.n >= lo && u.n <= hi);
      return { label, users: members.length, share: (100 * members.reduce((s, u) => s + u.points, 0)) / total };
    });
    barChart(grid, 'Participation per user group', groups.map((g) => g.label),
      [{ label: 'Users', values: groups.map((g) => g.users) }, { label: 'Share of points (%)', values: groups.map((g) => g.share) }], { xLabel: 'Group' });
  }

  // ---- a user ------------------------------------------------------------------------------
  async function viewUserLookup(title) {
    title.textContent = 'Users';
    const id = input({ name: 'externalUserId', required: true });
    const form = h('form', { class: 'panel', 'aria-label': 'Find a user' }, h('div', { class: 'row' }, field('External user id', id), h('button', { type: 'submit' }, 'Show user')));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = '#/users/' + enc(id.value.trim()); });
    view.append(form);
  }

  async function viewUser(title, gen, userId) {
    title.textContent = 'User ' + userId;
    const [wallet, points] = await Promise.all([
      get('/users/' + enc(userId) + '/wallet?pageSize=50').catch((e) => ({ error: e })),
      get('/users/' + enc(userId) + '/points').catch((e) => ({ error: e }))]);
    if (gen !== generation) return;
    const w = h('section', { class: 'panel', 'aria-labelledby': 'wallet-title' }, h('h3', { id: 'wallet-title' }, 'Wallet'));
    if (wallet.error) w.append(h('p', { class: 'error' }, problemText(wallet.error)));
    else {
      const wl = wallet.wallet || {};
      w.append(table([col('Points balance', 'pointsBalance', true), col('Coins balance', 'coinsBalance', true), col('Conversion rate', 'conversionRate', true)], [wl], { 'aria-label': 'Wallet', id: 'wallet' }));
      const ledger = wallet.walletTransactions || [];
      const cols = [...new Set(ledger.flatMap((t) => Object.keys(t)))].filter((k) => k !== 'data').slice(0, 8);
      w.append(h('h4', {}, 'Ledger (newest first)'), ledger.length ? table(cols.map((c) => col(c, c, typeof ledger[0][c] === 'number')), ledger, { 'aria-label': 'Ledger' }) : h('p', {}, 'No transactions.'));
    }
    const p = h('section', { class: 'panel', 'aria-labelledby': 'points-title' }, h('h3', { id: 'points-title' }, 'Points per game and task'));
    const rows = [];
    if (points.error) p.append(h('p', { class: 'error' }, problemText(points.error)));
    else {
      // Each task holds one entry: the user's total on it (GAME's shape).
      for (const g of items(points)) {
        for (const t of g.task || []) {
          const totals = Array.isArray(t.points) ? t.points : [t];
          const sum = totals.reduce((n, x) => n + (Number(x.points) || 0), 0);
          const times = totals.reduce((n, x) => n + (Number(x.timesAwarded) || 0), 0);
          rows.push({ game: g.externalGameId || '(deleted game)', task: t.externalTaskId, points: round(sum), times });
        }
      }
    }
    if (!points.error) p.append(table([col('Game', 'game'), col('Task', 'task'), col('Points', 'points', true), col('Times awarded', 'times', true)], rows, { 'aria-label': 'Points per game and task', id: 'user-points' }));
    view.append(h('div', { class: 'grid2' }, w, p));
    if (!points.error) view.append(await progressionPanel(userId, items(points)));
    barChart(view, 'Points per task', rows.map((r) => r.game + ' / ' + r.task), [{ label: 'Points', values: rows.map((r) => Number(r.points) || 0) }], { xLabel: 'Game / task' });
  }

  // The user's level, achievements and streak in each game that defines progression.
  async function progressionPanel(userId, games) {
    const panel = h('section', { class: 'panel', 'aria-labelledby': 'progression-title' }, h('h3', { id: 'progression-title' }, 'Progression'));
    const rows = [];
    for (const g of games.filter((g) => g.gameId)) {
      const view = await get('/games/' + enc(g.gameId) + '/users/' + enc(userId) + '/progression').catch(() => null);
      if (!view || (!view.level && !(view.achievements || []).length && !view.streak)) continue;
      rows.push({
        game: g.externalGameId || g.gameId,
        level: view.level ? view.level.level + (view.level.name ? ' (' + view.level.name + ')' : '') : '–',
        points: view.points,
        achievements: (view.achievements || []).map((a) => a.name || a.key).join(', ') || '–',
        streak: view.streak ? view.streak.current : '–',
      });
    }
    panel.append(rows.length
      ? table([col('Game', 'game'), col('Level', 'level'), col('Points', 'points', true), col('Achievements', 'achievements'), col('Streak', 'streak', true)], rows, { 'aria-label': 'Progression', id: 'user-progression' })
      : h('p', { id: 'user-progression' }, 'No progression in these games.'));
    return panel;
  }

  // ---- custom strategies -------------------------------------------------------------------
  async function viewStrategies(title, gen) {
    title.textContent = 'Custom strategies';
    const [list, templates] = await Promise.all([get('/strategies/custom?pageSize=100'), get('/strategies/custom/templates').catch(() => [])]);
    if (gen !== generation) return;
    const tpl = items(templates);
    const pick = select([['', '(empty program)'], ...tpl.map((t, i) => [String(i), t.name || t.id || 'template ' + (i + 1)])], { name: 'template' });
    const form = h('form', { class: 'panel', 'aria-label': 'New custom strategy' }, h('div', { class: 'row' }, field('Start from', pick), h('button', { type: 'submit' }, 'New strategy')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      draftTemplate = pick.value === '' ? null : tpl[Number(pick.value)];
      location.hash = '#/strategies/new';
    });
    view.append(form, table([
      col('Name', (s) => h('a', { href: '#/strategies/' + enc(s.id) }, s.name)), col('Version', 'version', true),
      col('Status', 'status'), col('Type', 'type'), col('Strategy id', 'strategyId'), col('Updated', 'updated_at'),
    ], items(list), { 'aria-label': 'Custom strategies' }));
  }
  let draftTemplate = null;

  // Gives every node without an id one named after its place in the program, in a copy sent to
  // the API: the validator keeps a node's own id, so the nodeId of an error (or of a trace
  // step) names a node of this tree exactly.
  function tagged(ast) {
    const walk = (v, path) => {
      if (Array.isArray(v)) return v.map((x, i) => walk(x, path + '.' + i));
      if (!v || typeof v !== 'object') return v;
      const out = {};
      for (const [k, x] of Object.entries(v)) out[k] = k === 'id' ? x : walk(x, path + '.' + k);
      if (typeof v.type === 'string' && !(typeof v.id === 'string' && v.id)) out.id = path;
      return out;
    };
    return walk(ast, 'n');
  }
  function treeOf(ast) {
    const node = (v, label) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
      const scalars = Object.entries(v).filter(([k, x]) => k !== 'id' && k !== 'type' && (x === null || typeof x !== 'object'))
        .map(([k, x]) => k + '=' + JSON.stringify(x)).join(' ');
      const li = h('li', { 'data-node-id': v.id || '' },
        h('span', { class: 'node' }, (label ? label + ': ' : '') + (v.type || '{}') + (scalars ? ' ' + scalars : ''), h('span', { class: 'msg' })));
      const kids = [];
      for (const [k, x] of Object.entries(v)) {
        if (Array.isArray(x)) x.forEach((y, i) => { const c = node(y, k + '[' + i + ']'); if (c) kids.push(c); });
        else if (x && typeof x === 'object') { const c = node(x, k); if (c) kids.push(c); }
      }
      if (kids.length) li.append(h('ul', {}, kids));
      return li;
    };
    const root = node(ast, '');
    return h('ul', { class: 'tree', 'aria-label': 'Program tree' }, root || h('li', {}, '(no program)'));
  }
  function findNode(tree, id) {
    return [...tree.querySelectorAll('li[data-node-id]')].find((li) => li.dataset.nodeId === id);
  }

  async function viewStrategy(title, gen, id) {
    const isNew = id === 'new';
    const def = isNew ? { name: '', description: '', type: 'DSL_FULL', astJson: draftTemplate ? draftTemplate.astJson : { type: 'program', rules: [] } } : await get('/strategies/custom/' + enc(id));
    if (gen !== generation) return;
    title.textContent = isNew ? 'New custom strategy' : def.name + ' v' + def.version + ' (' + def.status + ')';
    const name = input({ name: 'name', value: def.name || (draftTemplate && draftTemplate.name) || '', required: true, readonly: !isNew });
    const desc = input({ name: 'description', value: def.description || '' });
    const type = select([['DSL_FULL', 'DSL_FULL'], ['DSL_EXTEND', 'DSL_EXTEND']], { name: 'type' });
    type.value = def.type || 'DSL_FULL';
    const parent = input({ name: 'parentStrategyId', value: def.parentStrategyId || '' });
    const ast = h('textarea', { name: 'astJson', spellcheck: 'false', 'aria-describedby': 'ast-help' });
    ast.value = JSON.stringify(def.astJson || { type: 'program', rules: [] }, null, 2);
    const g = input({ name: 'externalGameId' }), t = input({ name: 'externalTaskId' }), u = input({ name: 'externalUserId' });
    const data = input({ name: 'data', value: '{}' });
    const result = h('div', { id: 'strategy-result', 'aria-live': 'polite' });
    const treeBox = h('div', { id: 'strategy-tree' });
    const parsed = () => {
      try { ast.removeAttribute('aria-invalid'); return JSON.parse(ast.value); } catch (e) {
        ast.setAttribute('aria-invalid', 'true');
        result.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'The program is not valid JSON: ' + e.message));
        return undefined;
      }
    };
    const draw = (program) => { const tree = treeOf(program); treeBox.replaceChildren(tree); return tree; };
    draw(tagged(def.astJson || {}));
    const simulateBody = (program) => {
      let d = {};
      try { d = JSON.parse(data.value || '{}'); } catch { /* sent as empty */ }
      const body = { externalGameId: g.value.trim() || '-', externalTaskId: t.value.trim() || '-', externalUserId: u.value.trim() || '-', data: d, astJson: program, type: type.value };
      if (type.value === 'DSL_EXTEND' && parent.value.trim()) body.parentStrategyId = parent.value.trim();
      return body;
    };
    // Validate and simulate both run the program through POST /strategies/custom/simulate
    // (which validates first and persists nothing); validate only reports the verdict.
    const run = async (simulate) => {
      const program = parsed();
      if (program === undefined) return;
      const copy = tagged(program);
      const tree = draw(copy);
      try {
        const r = await call('POST', '/strategies/custom/simulate', simulateBody(copy));
        for (const step of r.executionTrace || []) { const li = findNode(tree, step.nodeId); if (li) li.firstChild.classList.add('executed'); }
        result.replaceChildren(h('p', { class: 'ok' }, simulate
          ? 'Simulated: ' + r.points + ' point(s), case ' + (r.caseName || '(none)') + ', ' + r.nodesExecuted + ' node(s) executed' + (r.vetoed ? ', vetoed' : '') + '.'
          : 'The program is valid.'));
      } catch (e) {
        const nodeId = e.body && e.body.nodeId;
        if (e.code && e.code.startsWith('DSL_')) {
          const li = nodeId && findNode(tree, nodeId);
          if (li) {
            li.firstChild.classList.add('failed');
            li.firstChild.querySelector('.msg').textContent = '← ' + e.code + ': ' + e.message;
            li.firstChild.setAttribute('id', 'failed-node');
            li.scrollIntoView({ block: 'center' });
          }
          result.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Invalid: ' + e.code + ' at node ' + (nodeId || '?') + ': ' + e.message));
        } else if (!simulate) {
          result.replaceChildren(h('p', { class: 'ok' }, 'The program is valid (simulating it needs an existing game, task and user: ' + problemText(e) + ').'));
        } else {
          result.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Simulation failed: ' + problemText(e)));
        }
      }
    };
    const save = async () => {
      const program = parsed();
      if (program === undefined) return;
      const body = { name: name.value.trim(), description: desc.value, type: type.value, astJson: program };
      if (type.value === 'DSL_EXTEND') body.parentStrategyId = parent.value.trim();
      try {
        const s = isNew ? await call('POST', '/strategies/custom', body) : await call('PUT', '/strategies/custom/' + enc(id), body);
        say('Saved ' + s.name + ' v' + s.version + ' (' + s.status + ').', 'ok');
        draftTemplate = null;
        if (s.id === id) route(); else location.hash = '#/strategies/' + enc(s.id);
      } catch (e) {
        say('Could not save: ' + problemText(e), 'error');
        if (e.body && e.body.nodeId) run(false);
      }
    };
    const act = async (path, what) => {
      try { await call('POST', path, {}); say(what, 'ok'); route(); } catch (e) { say(problemText(e), 'error'); }
    };
    const buttons = h('p', { class: 'row' },
      h('button', { type: 'button', onclick: () => run(false) }, 'Validate'),
      h('button', { type: 'button', onclick: () => run(true) }, 'Simulate'),
      h('button', { type: 'button', onclick: save }, isNew ? 'Create' : 'Save'),
      !isNew && def.status !== 'PUBLISHED' && h('button', { type: 'button', onclick: () => act('/strategies/custom/' + enc(id) + '/publish', 'Published.') }, 'Publish'));
    view.append(h('p', {}, h('a', { href: '#/strategies' }, 'All custom strategies')),
      h('div', { class: 'grid2' },
        h('div', {}, h('div', { class: 'row' }, field('Name', name), field('Description', desc), field('Type', type), field('Parent strategy (DSL_EXTEND)', parent)),
          field('Program (astJson)', ast), h('p', { id: 'ast-help' }, 'JSON AST as GAME\'s custom-strategy language (docs/api.md). Validate points at the failing node in the tree.'),
          h('fieldset', {}, h('legend', {}, 'Simulate against'), h('div', { class: 'row' }, field('External game id', g), field('External task id', t), field('External user id', u), field('data (JSON)', data))),
          buttons, result),
        h('section', { class: 'panel', 'aria-labelledby': 'tree-title' }, h('h3', { id: 'tree-title' }, 'Program tree'), treeBox)));
    if (isNew) return;
    const versions = items(await get('/strategies/custom/' + enc(id) + '/versions'));
    if (gen !== generation) return;
    view.append(h('h3', {}, 'Versions'), table([
      col('Version', (v) => h('a', { href: '#/strategies/' + enc(v.id) }, 'v' + v.version), true), col('Status', 'status'), col('Updated', 'updated_at'), col('Published', 'publishedAt'),
      col('', (v) => (v.status === 'PUBLISHED' ? '' : h('button', { type: 'button', class: 'secondary', 'aria-label': 'Roll back to version ' + v.version,
        onclick: () => act('/strategies/custom/' + enc(id) + '/rollback/' + v.version, 'Version ' + v.version + ' published again.') }, 'Roll back to this'))),
    ], versions, { 'aria-label': 'Versions' }));
    const graph = h('section', { class: 'panel graph', 'aria-labelledby': 'graph-title' }, h('h3', { id: 'graph-title' }, 'Graph'));
    view.append(graph);
    try {
      const res = await call('GET', '/strategies/' + enc(id) + '/graph', undefined, true);
      const url = URL.createObjectURL(await res.blob());
      graph.append(h('img', { src: url, alt: 'The decision graph of ' + def.name + ' v' + def.version }));
    } catch (e) { graph.append(h('p', {}, 'No graph: ' + problemText(e))); }
  }

  // ---- exports -----------------------------------------------------------------------------
  async function viewExports(title, gen) {
    title.textContent = 'Exports';
    const dataset = select([['users', 'Users'], ['user-points', 'User points (awards)'], ['user-interactions', 'User interactions'], ['wallet-transactions', 'Wallet transactions']], { name: 'dataset' });
    const format = select([['csv', 'CSV'], ['json', 'JSON'], ['xlsx', 'Excel (xlsx)']], { name: 'format' });
    const from = input({ name: 'dateFrom', type: 'date' }), to = input({ name: 'dateTo', type: 'date' });
    const limit = input({ name: 'limit', type: 'number', min: 1, max: 100000, value: 10000 });
    const game = input({ name: 'externalGameId' }), task = input({ name: 'externalTaskId' });
    const out = h('div', { id: 'export-result', 'aria-live': 'polite' });
    const history = h('div');
    const form = h('form', { class: 'panel', 'aria-label': 'Start an export' },
      h('div', { class: 'row' }, field('Dataset', dataset), field('Format', format), field('From (UTC day)', from), field('To (UTC day)', to),
        field('Row limit (≤ 100,000)', limit), field('External game id', game), field('External task id', task), h('button', { type: 'submit' }, 'Start export')), out);
    const loadHistory = async () => {
      try {
        const rows = items(await get('/exports/history?limit=20'));
        history.replaceChildren(table([col('Started', 'created_at'), col('Dataset', 'datasetType'), col('Format', 'format'), col('Status', 'status'),
          col('Rows', 'rowCount', true), col('Delivery', 'delivery'), col('By', 'requestedBy'), col('Failure', 'failure')], rows, { 'aria-label': 'Export history', id: 'export-history' }));
      } catch (e) { history.replaceChildren(h('p', { class: 'error' }, 'No history: ' + problemText(e))); }
    };
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams({ format: format.value, limit: limit.value });
      if (from.value) q.set('dateFrom', from.value);
      if (to.value) q.set('dateTo', to.value);
      if (game.value.trim()) q.set('externalGameId', game.value.trim());
      if (task.value.trim()) q.set('externalTaskId', task.value.trim());
      out.replaceChildren(h('p', {}, 'Exporting…'));
      try {
        const res = await call('GET', '/exports/' + dataset.value + '?' + q, undefined, true);
        const rows = res.headers.get('X-Export-Rows');
        if (res.headers.get('X-Export-Id')) {
          const disposition = res.headers.get('Content-Disposition') || '';
          const m = disposition.match(/filename="([^"]+)"/);
          const filename = m ? m[1] : dataset.value + '.' + format.value;
          const url = URL.createObjectURL(await res.blob());
          const a = h('a', { href: url, download: filename, id: 'export-download' }, 'Download ' + filename);
          out.replaceChildren(h('p', { class: 'ok' }, 'Export ready: ' + rows + ' row(s). ', a));
          a.click();
        } else {
          const link = await res.json();
          out.replaceChildren(h('p', { class: 'ok' }, 'Export ready: ' + link.rowCount + ' row(s), ' + link.bytes + ' bytes; the link expires at ' + link.expiresAt + '. ',
            h('a', { href: link.url, id: 'export-download', rel: 'noreferrer' }, 'Download ' + link.filename)));
        }
      } catch (e) { out.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Export failed: ' + problemText(e))); }
      loadHistory();
    });
    view.append(form, h('h3', {}, 'History'), history);
    await loadHistory();
  }

  // ---- the dashboard summary ---------------------------------------------------------------
  async function viewDashboard(title, gen) {
    title.textContent = 'Dashboard';
    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 29 * 86400000).toISOString().slice(0, 10);
    const start = input({ name: 'start_date', type: 'date', value: monthAgo }), end = input({ name: 'end_date', type: 'date', value: today });
    const by = select([['day', 'Day'], ['week', 'Week'], ['month', 'Month']], { name: 'group_by' });
    const charts = h('div', { class: 'grid2', id: 'dashboard-charts' });
    const form = h('form', { class: 'panel', 'aria-label': 'Dashboard range' }, h('div', { class: 'row' }, field('From', start), field('To', end), field('Group by', by), h('button', { type: 'submit' }, 'Show')));
    const load = async () => {
      const q = new URLSearchParams({ start_date: start.value, end_date: end.value, group_by: by.value });
      plots.forEach((p) => p.destroy());
      plots = [];
      charts.replaceChildren();
      try {
        const [summary, logs] = await Promise.all([get('/dashboard/summary?' + q), get('/dashboard/summary/logs?' + q)]);
        if (gen !== generation) return;
        const names = { new_users: 'New users', games_opened: 'Games opened', points_earned: 'Points earned', actions_performed: 'Actions performed', awards: 'Awards' };
        for (const [k, label] of Object.entries(names)) {
          const series = summary[k];
          if (!Array.isArray(series)) continue;
          barChart(charts, label + ' per ' + by.value, series.map((s) => s.label), [{ label, values: series.map((s) => Number(s.count) || 0) }], { xLabel: by.value, time: by.value === 'day' });
        }
        const levels = Object.keys(logs || {});
        barChart(charts, 'Request outcomes (logs)', levels, [{ label: 'Count', values: levels.map((l) => Number(logs[l]) || 0) }], { xLabel: 'Level' });
      } catch (e) { charts.replaceChildren(h('p', { class: 'error', role: 'alert' }, problemText(e))); }
    };
    form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
    view.append(form, charts);
    await load();
  }

  if (credential()) route(); else logout('');
})();
