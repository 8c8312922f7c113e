// app.js: the trim console, a single page over the JSON API of
// docs/console.md.  Every recorded string (problem text, model steps,
// answers, reasons, policies) reaches the page as a text node (el() and
// textContent), never as markup: a problem holding <script> shows as text.
// URLs are relative, so the console works at / and under the gateway's
// /console/ alike.
'use strict';

(function () {
  const main = document.getElementById('main');
  const errorBox = document.getElementById('error');
  const SVG = 'http://www.w3.org/2000/svg';

  // ---- small helpers --------------------------------------------------

  // el('td', {class: 'num'}, 'text', node, ...): an element whose children
  // are nodes or text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function show(...nodes) {
    main.replaceChildren(...nodes);
  }

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
      if (v !== undefined && v !== null && v !== '') query.set(k, v);
    const url = 'api/' + path + (query.toString() ? '?' + query : '');
    const headers = {Accept: 'application/json'};
    const key = sessionStorage.getItem('trim-api-key');
    if (key) headers.Authorization = 'Bearer ' + key;
    const r = await fetch(url, {headers: headers});
    if (r.status === 401) {
      // Under a gateway with --api-keys: ask once, keep it for the tab.
      const k = window.prompt('This console needs an API key of the gateway');
      if (k) {
        sessionStorage.setItem('trim-api-key', k);
        return api(path, params);
      }
    }
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const m = body && body.error ? body.error.message : r.statusText;
      throw new Error(url + ': ' + r.status + ' ' + m);
    }
    return body;
  }

  const int = (n) => (n === null || n === undefined ? '-' :
                      Number(n).toLocaleString('en-US'));
  const fix = (n, d) => (n === null || n === undefined ? '-' :
                         Number(n).toFixed(d));
  const usd = (n) => (n === null || n === undefined ? '-' :
                      '$' + Number(n).toLocaleString('en-US', {
                        minimumFractionDigits: 2, maximumFractionDigits:
                          Math.abs(n) < 1 ? 6 : 2}));
  const pct = (n) => (n === null || n === undefined ? '-' :
                      (100 * n).toFixed(1) + '%');
  const ms = (us) => (us === null || us === undefined ? '-' :
                      (us / 1000).toFixed(us < 10000 ? 2 : 0) + ' ms');

  function table(id, head, rows) {
    return el('table', {id: id},
      el('thead', {}, el('tr', {}, ...head.map(h =>
        el('th', {class: h.num ? 'num' : null}, h.label || h)))),
      el('tbody', {}, ...rows));
  }

  function cell(value, cls) {
    return el('td', {class: cls}, value);
  }

  function outcome(p) {
    if (p.status !== 'finished') return p.status;
    return p.correct === 1 ? 'correct' : p.correct === 0 ? 'wrong'
                                                       : 'ungraded';
  }

  // A figure with its label; raw (a number) is kept in data-value.
  function card(label, value, id, raw) {
    return el('div', {class: 'card'},
      el('div', {class: 'value', id: id, 'data-value': raw}, value),
      el('div', {class: 'label'}, label));
  }

  // ---- runs -----------------------------------------------------------

  function runRow(r) {
    return el('tr', {'data-run': r.run_id},
      cell(el('a', {href: '#/run/' + r.run_id}, '#' + r.run_id)),
      cell(r.policy, 'policy'),
      cell(int(r.problems), 'num'),
      cell(fix(r.accuracy, 3), 'num accuracy'),
      cell(int(r.weak_tokens), 'num'),
      cell(int(r.strong_tokens), 'num strong-tokens'),
      cell(fix(r.strong_share, 3), 'num strong-share'),
      cell(r.dollars ? usd(r.dollars.total) : '-', 'num dollars'),
      cell(int(r.failed + r.cancelled), 'num'));
  }

  const RUN_HEAD = ['run', 'policy', {label: 'problems', num: 1},
    {label: 'accuracy', num: 1}, {label: 'weak tokens', num: 1},
    {label: 'strong tokens', num: 1}, {label: 'strong share', num: 1},
    {label: 'dollars', num: 1}, {label: 'failed/cancelled', num: 1}];

  async function viewRuns() {
    const d = await api('runs', {limit: 1000});
    const pick = (id) => el('select', {id: id}, ...d.runs.map(r =>
      el('option', {value: r.run_id}, '#' + r.run_id + ' ' + r.policy)));
    const a = pick('compare-a'), b = pick('compare-b');
    if (d.runs.length > 1) b.selectedIndex = 1;
    show(el('h2', {}, 'Runs'),
      table('runs', RUN_HEAD, d.runs.map(runRow)),
      d.next ? el('p', {class: 'note'}, 'The first 1,000 runs are shown.')
             : null,
      el('h3', {}, 'Compare two runs'),
      el('div', {class: 'bar'}, el('label', {}, 'run A', a),
        el('label', {}, 'run B', b),
        el('button', {id: 'compare-go', onclick: () => {
          location.hash = '#/compare/' + a.value + '/' + b.value;
        }}, 'Compare')));
  }

  async function viewCompare(a, b) {
    const d = await api('compare', {a: a, b: b});
    const p = d.paired;
    show(el('h2', {}, 'Run #' + a + ' against run #' + b),
      table('compare-runs', RUN_HEAD, [runRow(d.a), runRow(d.b)]),
      el('div', {class: 'cards'},
        card('problems paired (same source)', int(p.paired), 'paired'),
        card('both correct', int(p.both_correct), 'both-correct'),
        card('only run #' + a + ' correct', int(p.a_only), 'a-only'),
        card('only run #' + b + ' correct', int(p.b_only), 'b-only'),
        card('neither', int(p.neither), 'neither')),
      el('h3', {}, 'Problems whose outcome differs'),
      table('differ', ['source', 'run #' + a, 'run #' + b,
        {label: 'strong tokens A', num: 1}, {label: 'strong tokens B',
        num: 1}], d.differ.map(x => el('tr', {},
        cell(x.source),
        cell(el('a', {href: '#/problem/' + x.a_problem},
          '#' + x.a_problem + ' ' + outcome({status: x.a_status,
                                             correct: x.a_correct}))),
        cell(el('a', {href: '#/problem/' + x.b_problem},
          '#' + x.b_problem + ' ' + outcome({status: x.b_status,
                                             correct: x.b_correct}))),
        cell(int(x.a_strong_tokens), 'num'),
        cell(int(x.b_strong_tokens), 'num')))));
  }

  // ---- a run's problems -------------------------------------------------

  async function viewRun(run, params) {
    const filters = {
      outcome: params.get('outcome') || 'all',
      regenerated: params.get('regenerated') || 'any',
      text: params.get('text') || '',
      after: params.get('after') || '',
    };
    const [runs, d] = await Promise.all([api('runs', {run: run}),
      api('problems', Object.assign({run: run, limit: 50}, filters))]);
    const r = runs.runs[0];
    const sel = (id, values, current) => el('select', {id: id},
      ...values.map(v => el('option', {value: v, selected: v === current},
                            v)));
    const outcomeSel = sel('filter-outcome', ['all', 'correct', 'wrong',
      'failed', 'cancelled', 'ungraded', 'unfinished'], filters.outcome);
    const regenSel = sel('filter-regenerated', ['any', 'yes', 'no'],
                         filters.regenerated);
    const text = el('input', {id: 'filter-text', type: 'search',
                              value: filters.text, placeholder: 'in the text'});
    const go = (after) => {
      const q = new URLSearchParams({outcome: outcomeSel.value,
        regenerated: regenSel.value, text: text.value});
      if (after) q.set('after', after);
      location.hash = '#/run/' + run + '?' + q;
    };
    const rows = d.problems.map(p => el('tr', {'data-problem': p.problem_id},
      cell(el('a', {href: '#/problem/' + p.problem_id}, '#' + p.problem_id)),
      cell(outcome(p), outcome(p)),
      cell(el('div', {class: 'text'}, p.text +
        (p.text_length > p.text.length ? '…' : ''))),
      cell(p.final_answer === null ? '-' : p.final_answer, 'answer'),
      cell(p.ground_truth === null ? '-' : p.ground_truth),
      cell(int(p.steps), 'num'),
      cell(int(p.regenerated_steps), 'num'),
      cell(int(p.strong_tokens), 'num')));
    show(el('h2', {}, 'Run #' + run + ' ', el('span', {class: 'muted'},
        r.policy)),
      el('div', {class: 'cards'},
        card('problems', int(r.problems), 'run-problems'),
        card('accuracy', fix(r.accuracy, 3), 'run-accuracy'),
        card('strong share', fix(r.strong_share, 3), 'run-strong-share'),
        card('dollars', r.dollars ? usd(r.dollars.total) : '-',
             'run-dollars'),
        r.dollars && r.dollars.wasted > 0
            ? card('of it wasted drafts', usd(r.dollars.wasted),
                   'run-wasted-dollars')
            : null),
      el('form', {class: 'bar', id: 'filters', onsubmit: (e) => {
        e.preventDefault();
        go('');
      }}, el('label', {}, 'outcome', outcomeSel),
        el('label', {}, 'regenerated steps', regenSel),
        el('label', {}, 'text', text),
        el('button', {type: 'submit', id: 'filter-apply'}, 'Apply')),
      table('problems', ['problem', 'outcome', 'text', 'answer',
        'ground truth', {label: 'steps', num: 1},
        {label: 'regenerated', num: 1}, {label: 'strong tokens', num: 1}],
        rows),
      el('div', {class: 'bar'},
        filters.after ? el('button', {id: 'page-first', onclick: () =>
          go('')}, 'First page') : null,
        d.searched_to !== null ? el('span', {class: 'note',
          id: 'search-note'}, 'searched up to problem #' + d.searched_to +
          ' —') : null,
        d.next !== null ? el('button', {id: 'page-next', onclick: () =>
          go(d.next)}, d.searched_to !== null ? 'more' : 'Next page') :
          el('span', {class: 'note'},
             rows.length ? 'Last page.' : 'No problem matches.')));
  }

  // ---- one problem's route trace ------------------------------------------

  // The PRM score of each draft (filled: kept green, regenerated red)
  // against the policy's threshold, and the strong step's score (ring).
  function traceChart(steps, threshold) {
    const W = 760, H = 240, L = 44, R = 12, T = 12, B = 30;
    const n = Math.max(steps.length, 1);
    const x = (i) => L + (n === 1 ? (W - L - R) / 2 :
                            i * (W - L - R) / (n - 1));
    const y = (s) => T + (1 - s) * (H - T - B);
    const g = svg('svg', {class: 'chart', id: 'trace-chart',
                          viewBox: `0 0 ${W} ${H}`, width: W, height: H});
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      g.append(svg('line', {class: 'grid', x1: L, x2: W - R, y1: y(v),
                            y2: y(v)}));
      g.append(svg('text', {x: 4, y: y(v) + 4}, v.toFixed(2)));
    }
    g.append(svg('line', {class: 'axis', x1: L, x2: L, y1: T, y2: H - B}));
    g.append(svg('text', {x: W / 2 - 20, y: H - 6}, 'step'));
    if (threshold !== null)
      g.append(svg('line', {class: 'threshold', x1: L, x2: W - R,
                            y1: y(threshold), y2: y(threshold)}));
    steps.forEach((s, i) => {
      g.append(svg('text', {x: x(i) - 4, y: H - B + 14}, s.step_index));
      const d = s.draft;
      if (d && d.prm_score !== null) {
        const c = svg('circle', {cx: x(i), cy: y(d.prm_score), r: 5,
          class: 'pt-' + (d.decision || 'none')});
        c.append(svg('title', {}, 'step ' + s.step_index + ' draft ' +
                     d.prm_score.toFixed(3) + ' ' + (d.decision || '')));
        g.append(c);
      }
      if (s.strong && s.strong.prm_score !== null &&
          s.strong.prm_score !== undefined)
        g.append(svg('circle', {cx: x(i), cy: y(s.strong.prm_score), r: 7,
                                class: 'pt-strong'}));
    });
    return g;
  }

  function beliefText(b) {
    if (b === null || b === undefined) return '-';
    if (Array.isArray(b) && b.length >= 3)
      return 'S0 ' + fix(b[0], 3) + ' · S1 ' + fix(b[1], 3) + ' · S2 ' +
             fix(b[2], 3);
    return typeof b === 'string' ? b : JSON.stringify(b);
  }

  function timing(row) {
    const parts = ['model ' + ms(row.latency_us)];
    for (const k of ['queue', 'prm', 'route'])
      if (row[k + '_us'] !== undefined && row[k + '_us'] !== null)
        parts.push(k + ' ' + ms(row[k + '_us']));
    return parts.join(', ');
  }

  function stepRows(s, threshold) {
    const out = [];
    const add = (row, kind) => {
      if (!row) return;
      const scoreCls = row.prm_score === null ? null :
        (threshold !== null && row.kind === 'draft' &&
         row.prm_score < threshold ? 'num regenerate' : 'num');
      out.push(el('tr', {class: row.accepted ? 'accepted' : 'discarded',
                         'data-step': s.step_index, 'data-kind': kind},
        cell(s.step_index, 'num'),
        cell(kind, kind === 'strong' ? 'strong' : null),
        cell(el('div', {class: 'text'}, row.text === null ? '' : row.text),
             'step-text'),
        cell(fix(row.prm_score, 3), scoreCls),
        cell(row.decision || '-', row.decision || null),
        cell(row.decided_by || '-'),
        cell(row.reason || '-', 'text'),
        cell(beliefText(row.belief)),
        cell(int(row.prompt_tokens) + ' / ' + int(row.completion_tokens),
             'num'),
        cell(row.dollars ? usd(row.dollars.total) : '-', 'num'),
        cell(timing(row))));
    };
    add(s.draft, 'draft');
    add(s.strong, 'strong');
    return out;
  }

  async function viewProblem(id) {
    const d = await api('problem', {id: id});
    const p = d.problem;
    const o = outcome(p);
    show(el('h2', {}, 'Problem #' + p.problem_id + ' ',
        el('span', {class: 'muted'}, 'run #' + p.run_id + ', ' + p.policy)),
      el('pre', {class: 'text', id: 'problem-text'}, p.text || ''),
      el('dl', {class: 'facts'},
        el('dt', {}, 'outcome'), el('dd', {class: o, id: 'problem-outcome'}, o),
        el('dt', {}, 'final answer'),
        el('dd', {id: 'problem-answer'}, p.final_answer === null ? '-'
                                                                 : p.final_answer),
        el('dt', {}, 'ground truth'),
        el('dd', {id: 'problem-truth'}, p.ground_truth === null ? '-'
                                                                : p.ground_truth),
        el('dt', {}, 'steps'), el('dd', {}, int(p.steps) + ' accepted, ' +
          int(p.regenerated_steps) + ' regenerated'),
        el('dt', {}, 'tokens'), el('dd', {}, 'weak ' + int(p.weak_tokens) +
          ', strong ' + int(p.strong_tokens) + ', discarded ' +
          int(p.discarded_tokens) + ', PRM ' + int(p.prm_tokens)),
        p.dollars ? el('dt', {}, 'dollars') : null,
        p.dollars ? el('dd', {id: 'problem-dollars'}, usd(p.dollars.total))
                  : null,
        p.error ? el('dt', {}, 'error') : null,
        p.error ? el('dd', {class: 'text'}, p.error) : null,
        el('dt', {}, 'threshold'),
        el('dd', {id: 'problem-threshold'}, d.threshold === null ?
          'none (the policy does not compare one score)' :
          fix(d.threshold, 3))),
      el('h3', {}, 'PRM score per step'),
      traceChart(d.steps, d.threshold),
      el('p', {class: 'note'}, 'Filled: the draft (green kept, red ' +
         'regenerated); ring: the strong step that replaced it; dashed: ' +
         'the threshold.'),
      el('h3', {}, 'Route trace'),
      table('trace', [{label: 'step', num: 1}, 'kind', 'text', {label:
        'PRM', num: 1}, 'decision', 'decided by', 'reason', 'belief',
        {label: 'tokens in/out', num: 1}, {label: 'dollars', num: 1},
        'time'], d.steps.flatMap(s => stepRows(s, d.threshold))));
  }

  // ---- curves -------------------------------------------------------------

  const COLORS = ['#6b4fbb', '#1f8a4c', '#c0392b', '#2463c9', '#b7791f',
                  '#0f766e', '#9d174d'];

  // Accuracy against strong tokens per problem: each eval policy a line,
  // each run of the store a point.
  function curveChart(series, points) {
    const W = 760, H = 380, L = 52, R = 16, T = 14, B = 40;
    const xs = [1].concat(series.flatMap(s => s.points.map(p => p.x)),
                          points.map(p => p.x));
    const xmax = Math.max(...xs) * 1.05;
    const x = (v) => L + v / xmax * (W - L - R);
    const y = (v) => T + (1 - v) * (H - T - B);
    const g = svg('svg', {class: 'chart', id: 'curve-chart',
                          viewBox: `0 0 ${W} ${H}`, width: W, height: H});
    for (const v of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
      g.append(svg('line', {class: 'grid', x1: L, x2: W - R, y1: y(v),
                            y2: y(v)}));
      g.append(svg('text', {x: 8, y: y(v) + 4}, v.toFixed(1)));
    }
    g.append(svg('text', {x: W / 2 - 90, y: H - 8},
                 'strong tokens per problem'));
    g.append(svg('text', {x: L - 6, y: H - B + 14}, '0'));
    g.append(svg('text', {x: W - R - 40, y: H - B + 14}, int(xmax)));
    series.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      g.append(svg('polyline', {class: 'curve', stroke: c, points:
        s.points.map(p => x(p.x) + ',' + y(p.y)).join(' ')}));
      g.append(svg('text', {x: W - R - 110, y: T + 14 + 14 * i, fill: c},
                   s.name));
    });
    points.forEach(p => {
      const c = svg('circle', {cx: x(p.x), cy: y(p.y), r: 5,
                               class: 'pt-none'});
      c.append(svg('title', {}, p.label));
      g.append(c);
    });
    return g;
  }

  async function viewCurves() {
    const d = await api('curves');
    const points = d.runs.filter(r => r.accuracy !== null).map(r => ({
      x: r.strong_tokens_per_problem, y: r.accuracy,
      label: '#' + r.run_id + ' ' + r.policy}));
    const series = d.eval ? d.eval.policies.map(p => ({name: p.policy,
      points: p.points.map(q => ({x: q.strong_tokens_per_problem,
                                  y: q.accuracy}))})) : [];
    show(el('h2', {}, 'Accuracy against cost'),
      el('p', {class: 'note'}, d.eval ?
        'Lines: the trim eval result given with --curve (' +
        d.eval.problems + ' problems per point); points: the runs of ' +
        'the store.' : 'Points: the runs of the store (give a trim eval ' +
        'result with --curve for its policy curves).'),
      curveChart(series, points),
      table('curve-runs', ['run', 'policy', {label: 'problems', num: 1},
        {label: 'accuracy', num: 1}, {label: 'strong tokens / problem',
        num: 1}], d.runs.map(r => el('tr', {},
        cell('#' + r.run_id), cell(r.policy), cell(int(r.problems), 'num'),
        cell(fix(r.accuracy, 3), 'num'),
        cell(fix(r.strong_tokens_per_problem, 1), 'num')))));
  }

  // ---- ROI ------------------------------------------------------------------

  // Volume, target, fixed cost and prices in; the projection of
  // cost/roi.h out (the document `trim roi --json` prints for the same
  // inputs), recomputed on every change.
  const ROLES = ['weak', 'strong', 'prm'];
  const PARTS = ['input', 'cached', 'output'];

  async function viewRoi() {
    const book = (await api('prices')).prices;
    const num = (id, value, step) => el('input', {id: id, type: 'number',
      min: 0, step: step || 'any', value: value});
    const source = el('select', {id: 'roi-source'},
      el('option', {value: 'eval'}, 'trim eval curve (--curve)'),
      el('option', {value: 'store'}, 'runs of the store'));
    const volume = num('roi-volume', 100000, 1000);
    const kind = el('select', {id: 'roi-target-kind'},
      el('option', {value: 'target_pgr'}, 'PGR (share of the gap)'),
      el('option', {value: 'target_accuracy'}, 'accuracy'));
    const target = num('roi-target', 0.8, 0.01);
    const fixed = num('roi-fixed', 0, 10);
    const prices = {};
    const priceRows = ROLES.map(r => el('tr', {}, cell(r + (book ? ' (' +
      book.roles[r].model + ')' : '')), ...PARTS.map(k => {
      prices[r + '_' + k] = num('roi-' + r + '-' + k,
                                book ? book.roles[r][k] : '', 0.01);
      return el('td', {}, prices[r + '_' + k]);
    })));
    const result = el('div', {id: 'roi-result'});
    let pending = 0;
    const update = async () => {
      const mine = ++pending;
      if (volume.value === '' || target.value === '') {
        result.replaceChildren(el('p', {class: 'note'},
                                  'Give a volume and a target.'));
        return;
      }
      const params = {source: source.value, volume: volume.value,
                      fixed_monthly: fixed.value};
      params[kind.value] = target.value;
      // Only the prices changed here: the others stay the book's own,
      // to the last digit.
      for (const [k, input] of Object.entries(prices))
        if (input.value !== '' && input.value !== input.defaultValue)
          params[k] = input.value;
      let d;
      try {
        d = await api('roi', params);
      } catch (e) {
        if (mine === pending)
          result.replaceChildren(el('p', {class: 'wrong', id: 'roi-error'},
                                    e.message));
        return;
      }
      if (mine !== pending) return; // a newer input is on its way
      const best = d.best;
      result.replaceChildren(
        el('div', {class: 'cards'},
          card('strong-only a month', usd(d.monthly_strong_only_usd),
               'roi-monthly-strong', d.monthly_strong_only_usd),
          card('routed a month' + (best ? ' (' + best.policy + ')' : ''),
               usd(d.monthly_policy_usd), 'roi-monthly-policy',
               d.monthly_policy_usd),
          card('savings a month', usd(d.savings_usd), 'roi-savings',
               d.savings_usd),
          card('savings', d.savings_pct === null ? '-' :
               fix(d.savings_pct, 1) + '%', 'roi-savings-pct', d.savings_pct),
          card('per correct answer, routed', usd(d.usd_per_correct_policy),
               'roi-per-correct', d.usd_per_correct_policy),
          card('break-even volume a month', d.break_even_volume === null ?
               '-' : int(Math.ceil(d.break_even_volume)), 'roi-break-even',
               d.break_even_volume)),
        el('p', {class: 'note'}, 'Target accuracy ' +
          fix(d.target_accuracy, 3) + ' (weak-only ' +
          fix(d.anchors.weak.accuracy, 3) + ', strong-only ' +
          fix(d.anchors.strong.accuracy, 3) + ').'),
        table('roi-policies', ['policy', 'reaches', {label: 'accuracy',
          num: 1}, {label: 'per problem', num: 1}, {label: 'a month',
          num: 1}, 'between'], d.policies.map(p => el('tr', {},
          cell(p.policy), cell(p.reached ? 'yes' : 'no'),
          cell(fix(p.accuracy, 3), 'num'), cell(usd(p.usd_per_problem),
          'num'), cell(usd(p.monthly_usd), 'num'),
          cell(p.reached ? (p.spec_lo === p.spec_hi ? p.spec_lo : p.spec_lo +
            ' / ' + p.spec_hi + ' (' + pct(p.mix_hi) + ')') : '-')))),
        el('h3', {}, 'Sensitivity to the strong model\'s price'),
        table('roi-sensitivity', [{label: 'strong price ×', num: 1},
          {label: 'strong/weak output price', num: 1}, 'cheapest',
          {label: 'strong-only a month', num: 1}, {label: 'routed a month',
          num: 1}, {label: 'savings', num: 1}, 'better'],
          d.sensitivity.map(x =>
          el('tr', {}, cell(fix(x.strong_price_scale, 2), 'num'),
            cell(fix(x.strong_weak_output_price_ratio, 1), 'num'),
            cell(x.best || '-'), cell(usd(x.monthly_strong_only_usd), 'num'),
            cell(usd(x.monthly_policy_usd), 'num'),
            cell(x.savings_pct === null ? '-' : fix(x.savings_pct, 1) + '%',
                 'num'),
            cell(x.best === null ? '-' : x.strong_only_better ?
                 'strong-only' : 'routed')))));
      // What the figures answer, for a reader (or a test) to match.
      result.dataset.volume = params.volume;
      result.dataset.target = params[kind.value];
    };
    const form = el('form', {class: 'bar', id: 'roi-form', onsubmit: (e) =>
      e.preventDefault()},
      el('label', {}, 'curve', source), el('label', {}, 'problems a month',
        volume), el('label', {}, 'target', kind),
      el('label', {}, 'value', target),
      el('label', {}, 'fixed cost a month (USD)', fixed));
    form.addEventListener('input', update);
    form.addEventListener('change', update);
    const priceTable = table('roi-prices', ['role', 'input USD/Mtok',
      'cached input USD/Mtok', 'output USD/Mtok'], priceRows);
    priceTable.addEventListener('input', update);
    show(el('h2', {}, 'ROI calculator'),
      el('p', {class: 'note'}, 'The projection of trim roi --curve: the ' +
         'cheapest point on eval\'s frontier that reaches the target ' +
         '(docs/roi.md §4), priced per problem, ' +
         'against strong-only.  Prices start from the console\'s --prices ' +
         'book.'),
      form, priceTable, result);
    const curves = await api('curves');
    if (!curves.eval) source.value = 'store';
    await update();
  }

  // ---- routing --------------------------------------------------------------

  async function route() {
    errorBox.hidden = true;
    document.body.dataset.view = 'loading';
    const [path, query] = (location.hash.slice(1) || '/runs').split('?');
    const parts = path.split('/').filter(Boolean);
    const params = new URLSearchParams(query || '');
    for (const a of document.querySelectorAll('nav a'))
      a.classList.toggle('active', a.getAttribute('href') === '#/' + parts[0]);
    try {
      if (parts[0] === 'run' && parts[1]) await viewRun(parts[1], params);
      else if (parts[0] === 'problem' && parts[1]) await viewProblem(parts[1]);
      else if (parts[0] === 'compare' && parts[2])
        await viewCompare(parts[1], parts[2]);
      else if (parts[0] === 'curves') await viewCurves();
      else if (parts[0] === 'roi') await viewRoi(params);
      else await viewRuns();
      document.body.dataset.view = parts[0] || 'runs';
    } catch (e) {
      fail(e.message);
      document.body.dataset.view = 'error';
    }
  }

  window.addEventListener('hashchange', route);
  route();
})();
