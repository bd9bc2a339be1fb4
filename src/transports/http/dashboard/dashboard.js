// The saga dashboard: a small page over the admin API. Every value is put in the page as text (never
// as HTML), and the page's policy allows no inline script, so a saga field cannot run as code.
const TOKEN_KEY = 'saga-admin-token';
const REFRESH_MS = 3000;
const SVG = 'http://www.w3.org/2000/svg';

const main = document.getElementById('main');
const signOut = document.getElementById('sign-out');
let refreshTimer;

/** An element with attributes and children; strings become text nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const token = () => sessionStorage.getItem(TOKEN_KEY);

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token()}`, ...(options.headers ?? {}) },
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) throw new Unauthorized('the admin token was refused');
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

/** The saga statuses as the API names them ({name, final}), read once. */
let statusList;
async function statuses() {
  statusList ??= api('/sagas/statuses').then((body) => body.statuses);
  return statusList.catch((error) => {
    statusList = undefined;
    throw error;
  });
}

const badge = (value, extra = '') => h('span', { class: `badge ${value} ${extra}`.trim() }, value);
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : '—');

function age(ms) {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function show(...children) {
  main.replaceChildren(...children);
}

function markNav(name) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === name);
  }
}

// ---- sign in -------------------------------------------------------------------------------------

function signIn(message) {
  clearInterval(refreshTimer);
  signOut.hidden = true;
  const input = h('input', {
    type: 'password',
    name: 'token',
    id: 'token',
    autocomplete: 'off',
    placeholder: 'ADMIN_TOKEN',
    required: true,
  });
  const form = h(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        route();
      },
    },
    h('label', { class: 'field', for: 'token' }, 'Admin token'),
    input,
    h('button', { type: 'submit' }, 'Open the dashboard'),
  );
  show(
    h(
      'section',
      { class: 'panel login' },
      h('h1', {}, 'Saga dashboard'),
      h('p', { class: 'muted' }, 'The token is kept in this tab only (session storage).'),
      message ? h('p', { class: 'error', role: 'alert' }, message) : null,
      form,
    ),
  );
  input.focus();
}

signOut.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  signIn();
});

// ---- overview ------------------------------------------------------------------------------------

function throughputChart(perMinute) {
  const width = 600;
  const height = 140;
  const bottom = height - 18;
  const max = Math.max(1, ...perMinute.map((bucket) => bucket.succeeded + bucket.aborted));
  const slot = width / perMinute.length;
  const bars = perMinute.flatMap((bucket, index) => {
    const x = index * slot + 2;
    const w = Math.max(1, slot - 4);
    const ok = (bucket.succeeded / max) * (bottom - 8);
    const bad = (bucket.aborted / max) * (bottom - 8);
    const minute = new Date(bucket.minute);
    const title = `${minute.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' })}: ${bucket.succeeded} succeeded, ${bucket.aborted} aborted`;
    return [
      s('rect', { class: 'succeeded', x, y: bottom - ok, width: w, height: ok }, s('title', {}, title)),
      s('rect', { class: 'aborted', x, y: bottom - ok - bad, width: w, height: bad }, s('title', {}, title)),
    ];
  });
  const first = new Date(perMinute[0].minute);
  const labels = [
    s('line', { class: 'baseline', x1: 0, y1: bottom + 0.5, x2: width, y2: bottom + 0.5 }),
    s(
      'text',
      { x: 2, y: height - 4 },
      first.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' }),
    ),
    s('text', { x: width - 2, y: height - 4, 'text-anchor': 'end' }, 'now'),
    s('text', { x: 2, y: 10 }, `${max} / min`),
  ];
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img' },
    bars,
    labels,
  );
}

async function overview() {
  markNav('overview');
  const shownFor = location.hash;
  const [stats, known] = await Promise.all([api('/sagas/stats?minutes=15'), statuses()]);
  if (location.hash !== shownFor) return; // the operator moved on while this was loading
  const cards = h(
    'div',
    { class: 'cards', id: 'counts' },
    known.map(({ name: status }) =>
      h(
        'a',
        { class: `card ${status}`, href: `#/sagas?status=${status}`, 'data-status': status },
        h('div', { class: 'label' }, status),
        h('div', { class: 'value' }, stats.byStatus[status]),
      ),
    ),
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'label' }, 'total'),
      h('div', { class: 'value' }, stats.total),
    ),
  );
  const rate = stats.window.abortRate === null ? '—' : `${(stats.window.abortRate * 100).toFixed(1)} %`;
  const oldest = stats.oldestActive;
  show(
    h('h1', {}, 'Overview'),
    cards,
    h(
      'div',
      { class: 'grid2' },
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, `Finished per minute, last ${stats.window.minutes} minutes`),
        throughputChart(stats.window.perMinute),
        h(
          'div',
          { class: 'legend' },
          h('span', { class: 'succeeded' }, `${stats.window.succeeded} succeeded`),
          h('span', { class: 'aborted' }, `${stats.window.aborted} aborted`),
          h('span', { id: 'abort-rate' }, `abort rate ${rate}`),
        ),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Oldest running saga'),
        oldest
          ? h(
              'dl',
              { class: 'facts', id: 'oldest' },
              h('dt', {}, 'gid'),
              h(
                'dd',
                {},
                h('a', { href: `#/saga/${encodeURIComponent(oldest.gid)}`, class: 'mono' }, oldest.gid),
              ),
              h('dt', {}, 'running for'),
              h('dd', {}, age(oldest.ageMs)),
              h('dt', {}, 'status'),
              h('dd', {}, badge(oldest.status)),
              h('dt', {}, 'state'),
              h('dd', { class: 'mono' }, oldest.state),
              h('dt', {}, 'type'),
              h('dd', {}, oldest.type),
            )
          : h('p', { class: 'muted', id: 'oldest' }, 'Every saga is finished.'),
        h('h2', {}, 'By type'),
        h(
          'dl',
          { class: 'facts' },
          Object.entries(stats.byType).flatMap(([type, count]) => [h('dt', {}, type), h('dd', {}, count)]),
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `Updated ${new Date(stats.now).toLocaleTimeString([], { hour12: false })}; refreshes every ${REFRESH_MS / 1000} s.`,
    ),
  );
}

// ---- list ----------------------------------------------------------------------------------------

async function list(params) {
  markNav('sagas');
  const query = new URLSearchParams();
  for (const name of ['status', 'type', 'q', 'cursor'])
    if (params.get(name)) query.set(name, params.get(name));
  query.set('limit', '25');
  const shownFor = location.hash;
  const [page, known] = await Promise.all([api(`/sagas?${query}`), statuses()]);
  if (location.hash !== shownFor) return;

  const field = (label, control) => h('label', { class: 'field' }, label, control);
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'any'),
    known.map(({ name: value }) => h('option', { value, selected: params.get('status') === value }, value)),
  );
  const type = h('input', { name: 'type', value: params.get('type') ?? '', placeholder: 'register' });
  const q = h('input', { name: 'q', value: params.get('q') ?? '', placeholder: 'gid or user id' });
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        if (status.value) next.set('status', status.value);
        if (type.value.trim()) next.set('type', type.value.trim());
        if (q.value.trim()) next.set('q', q.value.trim());
        location.hash = `#/sagas?${next}`;
      },
    },
    field('Status', status),
    field('Type', type),
    field('Search', q),
    h('button', { type: 'submit' }, 'Filter'),
  );

  const rows = page.sagas.map((saga) =>
    h(
      'tr',
      { 'data-gid': saga.gid },
      h('td', {}, h('a', { href: `#/saga/${encodeURIComponent(saga.gid)}`, class: 'mono' }, saga.gid)),
      h('td', {}, saga.type),
      h('td', {}, badge(saga.status)),
      h('td', { class: 'mono' }, saga.state),
      h('td', {}, saga.subject ?? '—'),
      h('td', {}, saga.error ? h('code', {}, saga.error.code) : ''),
      h('td', {}, dateTime(saga.createdAt)),
    ),
  );
  const pageParams = (cursor) => {
    const next = new URLSearchParams(params);
    if (cursor) next.set('cursor', cursor);
    else next.delete('cursor');
    return `#/sagas?${next}`;
  };
  show(
    h('h1', {}, 'Sagas'),
    filters,
    h(
      'section',
      { class: 'panel' },
      rows.length === 0
        ? h('p', { class: 'muted' }, 'No saga matches.')
        : h(
            'table',
            { id: 'saga-list' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['gid', 'type', 'status', 'state', 'user', 'error', 'created'].map((name) =>
                  h('th', {}, name),
                ),
              ),
            ),
            h('tbody', {}, rows),
          ),
      h(
        'div',
        { class: 'pager' },
        params.get('cursor') ? h('a', { href: pageParams(null) }, '« First page') : null,
        page.next ? h('a', { href: pageParams(page.next), id: 'next-page' }, 'Next page »') : null,
      ),
    ),
  );
}

// ---- one saga ------------------------------------------------------------------------------------

/** The state a dotted machine state stands in: the longest diagram node that prefixes it. */
function nodeOfState(diagram, state) {
  return diagram.nodes
    .filter((node) => state === node.id || state.startsWith(`${node.id}.`))
    .sort((a, b) => b.id.length - a.id.length)[0];
}

function pathTaken(diagram, saga) {
  const visited = [diagram.initial];
  for (const attempt of saga.timeline) {
    const node = diagram.nodes.find((candidate) => candidate.step === attempt.step);
    if (node && visited[visited.length - 1] !== node.id) visited.push(node.id);
  }
  const current = nodeOfState(diagram, saga.state);
  if (current && visited[visited.length - 1] !== current.id) visited.push(current.id);
  const edges = new Set();
  for (let i = 1; i < visited.length; i++) edges.add(`${visited[i - 1]}>${visited[i]}`);
  return { visited: new Set(visited), edges, current: current?.id };
}

function shortLabel(label) {
  const guards = [...label.matchAll(/\[([^\]]+)\]/g)].map((match) => match[1]);
  return guards.length > 0 ? guards.join(' / ') : label;
}

/** Mid-way on a level edge; on a slanted one, near its source, so crossing edges keep their labels apart. */
function labelAt(edge) {
  const level = Math.abs(edge.y2 - edge.y1) < 1;
  const at = level ? 0.5 : 0.22;
  return {
    x: edge.x1 + (edge.x2 - edge.x1) * at + (level ? 0 : 8),
    y: edge.y1 + (edge.y2 - edge.y1) * at - 6,
    'text-anchor': level ? 'middle' : 'start',
  };
}

function diagramSvg(diagram, saga) {
  const path = pathTaken(diagram, saga);
  const marker = (id, extra) =>
    s(
      'marker',
      {
        id,
        class: extra,
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto-start-reverse',
      },
      s('path', { d: 'M0,0 L10,5 L0,10 z' }),
    );
  const groups = diagram.groups.map((group) =>
    s(
      'g',
      { class: 'group' },
      s('rect', { x: group.x, y: group.y, width: group.width, height: group.height, rx: 10 }),
      s('text', { x: group.x + 10, y: group.y + group.height - 8 }, group.id),
    ),
  );
  const edges = diagram.edges.map((edge) => {
    const taken = path.edges.has(`${edge.source}>${edge.target}`);
    return s(
      'g',
      { class: `edge${taken ? ' taken' : ''}`, 'data-edge': `${edge.source}>${edge.target}` },
      s('line', {
        x1: edge.x1,
        y1: edge.y1,
        x2: edge.x2,
        y2: edge.y2,
        'marker-end': `url(#${taken ? 'arrow-taken' : 'arrow'})`,
      }),
      s('text', { class: 'edge-label', ...labelAt(edge) }, shortLabel(edge.label)),
      s('title', {}, edge.label),
    );
  });
  const nodes = diagram.nodes.map((node) => {
    const classes = [
      'node',
      node.final ? 'final' : '',
      path.visited.has(node.id) ? 'visited' : '',
      path.current === node.id ? 'current' : '',
    ];
    const cx = node.x + node.width / 2;
    return s(
      'g',
      { class: classes.filter(Boolean).join(' '), 'data-node': node.id },
      s('rect', { x: node.x, y: node.y, width: node.width, height: node.height, rx: node.final ? 22 : 8 }),
      s('text', { class: 'node-name', x: cx, y: node.y + (node.step ? 19 : 28) }, node.label),
      node.step && node.step !== node.label
        ? s('text', { class: 'node-sub', x: cx, y: node.y + 35 }, node.step)
        : null,
      node.step === node.label
        ? s('text', { class: 'node-sub', x: cx, y: node.y + 35 }, 'compensation')
        : null,
    );
  });
  return s(
    'svg',
    {
      viewBox: `0 0 ${diagram.width} ${diagram.height}`,
      role: 'img',
      'aria-label': 'state diagram',
    },
    s('defs', {}, marker('arrow', ''), marker('arrow-taken', 'taken')),
    groups,
    edges,
    nodes,
  );
}

async function sagaPage(gid) {
  markNav('sagas');
  const shownFor = location.hash;
  const [saga, known] = await Promise.all([api(`/sagas/${encodeURIComponent(gid)}`), statuses()]);
  const diagram = await api(`/machines/${encodeURIComponent(saga.type)}/diagram`).catch(() => null);
  if (location.hash !== shownFor) return;
  const final = known.some(({ name, final }) => final && name === saga.status);
  const waiting = !final && saga.state.endsWith('.waiting');
  const retryMessage = h('span', { class: 'muted', role: 'status' });
  const retry = waiting
    ? h(
        'button',
        {
          type: 'button',
          id: 'retry',
          onclick: async (event) => {
            event.target.disabled = true;
            try {
              await api(`/sagas/${encodeURIComponent(gid)}/retry`, { method: 'POST' });
              retryMessage.textContent = 'Retrying now…';
              setTimeout(() => route(), 800);
            } catch (error) {
              retryMessage.textContent = error.message;
              event.target.disabled = false;
            }
          },
        },
        'Retry now',
      )
    : null;

  const timeline = h(
    'table',
    { id: 'timeline' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['step', 'op', 'attempt', 'started', 'took', 'outcome', 'barrier', 'error'].map((name) =>
          h('th', {}, name),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      saga.timeline.map((attempt) =>
        h(
          'tr',
          { 'data-step': attempt.step, 'data-op': attempt.op },
          h('td', { class: 'mono' }, attempt.step),
          h('td', {}, badge(attempt.op, 'op')),
          h('td', {}, attempt.attempt),
          h('td', {}, time(attempt.startedAt)),
          h(
            'td',
            { title: `finished ${time(attempt.finishedAt)}` },
            `${Math.max(0, attempt.finishedAt - attempt.startedAt)} ms`,
          ),
          h('td', {}, badge(attempt.outcome)),
          h('td', {}, attempt.barrier ?? '—'),
          h('td', {}, attempt.error ? [h('code', {}, attempt.error.code), ' ', attempt.error.message] : ''),
        ),
      ),
    ),
  );

  // The trace id, linked to the trace UI when TRACE_URL_TEMPLATE is set (the server checked it is http(s)).
  const traceLink = ({ traceId, traceUrl }) =>
    traceUrl && /^https?:\/\//.test(traceUrl)
      ? h('a', { href: traceUrl, target: '_blank', rel: 'noopener noreferrer' }, traceId)
      : traceId;
  const fact = (name, value, attributes = {}) =>
    h('div', { class: 'fact' }, h('dt', {}, name), h('dd', attributes, value));
  show(
    h(
      'div',
      { class: 'title-row' },
      h('h1', { class: 'mono' }, saga.gid),
      badge(saga.status),
      retry,
      retryMessage,
    ),
    h(
      'section',
      { class: 'panel' },
      h(
        'dl',
        { class: 'facts wide' },
        fact('type', saga.type),
        fact('state', saga.state, { class: 'mono', id: 'state' }),
        fact('user', saga.subject ?? '—'),
        fact('created', dateTime(saga.createdAt)),
        fact('updated', dateTime(saga.updatedAt)),
        fact('owner', saga.owner ?? '—', { class: 'mono' }),
        saga.traceId ? fact('trace', traceLink(saga), { class: 'mono', id: 'trace' }) : null,
        saga.nextAttemptAt ? fact('next attempt', dateTime(saga.nextAttemptAt)) : null,
        saga.error
          ? fact('error', [h('code', {}, saga.error.code), ' ', saga.error.message], { class: 'error' })
          : null,
      ),
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'State diagram'),
      diagram
        ? h('div', { class: 'diagram', id: 'diagram' }, diagramSvg(diagram, saga))
        : h('p', { class: 'muted' }, 'No diagram for this saga type.'),
      h(
        'div',
        { class: 'legend' },
        h('span', { class: 'path' }, 'path taken'),
        h('span', { class: 'here' }, 'current state'),
      ),
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Timeline'),
      saga.timeline.length === 0 ? h('p', { class: 'muted' }, 'No step has finished yet.') : timeline,
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Input (secrets removed)'),
      h('pre', { class: 'json', id: 'input' }, JSON.stringify(saga.input, null, 2)),
    ),
  );
}

// ---- routing -------------------------------------------------------------------------------------

async function route() {
  clearInterval(refreshTimer);
  if (!token()) return signIn();
  signOut.hidden = false;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  const params = new URLSearchParams(search);
  try {
    if (path === '/' || path === '') {
      await overview();
      refreshTimer = setInterval(() => overview().catch(fail), REFRESH_MS);
    } else if (path === '/sagas') {
      await list(params);
    } else if (path.startsWith('/saga/')) {
      await sagaPage(decodeURIComponent(path.slice('/saga/'.length)));
    } else {
      show(h('p', {}, 'Nothing here. '), h('a', { href: '#/' }, 'Back to the overview'));
    }
  } catch (error) {
    fail(error);
  }
}

function fail(error) {
  clearInterval(refreshTimer);
  if (error instanceof Unauthorized) {
    sessionStorage.removeItem(TOKEN_KEY);
    return signIn('That token was refused. Try again.');
  }
  show(
    h('p', { class: 'error', role: 'alert' }, error.message),
    h('a', { href: '#/' }, 'Back to the overview'),
  );
}

window.addEventListener('hashchange', route);
route();
