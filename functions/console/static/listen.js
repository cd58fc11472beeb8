// Listen sessions: the `eventsapi listen` CLIs forwarding this developer's live deliveries to a
// laptop, with when each last polled and when it expires; a session can be ended from here.

import { Api, ApiError } from './api.js';
import { append, badge, emptyState, h, notice, replace, setBusy, td, timeEl } from './dom.js';

const POLL_MS = 5000;

function table(sessions, onEnd) {
  return h(
    'div',
    { class: 'table-wrap card' },
    h(
      'table',
      { class: 'table responsive listen-table' },
      h(
        'thead',
        {},
        h('tr', {}, ...['Session', 'Event types', 'Last poll', 'Expires', ''].map((text) => h('th', { scope: 'col', text }))),
      ),
      h(
        'tbody',
        {},
        sessions.map((session) => {
          const end = h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', text: 'End' });
          end.addEventListener('click', () => onEnd(session, end));
          return h(
            'tr',
            { 'data-session': session.sessionId },
            td('Session', h('span', { class: 'mono small', text: session.sessionId })),
            td(
              'Event types',
              session.events.length
                ? session.events.map((name) => badge(name, 'neutral'))
                : h('span', { class: 'muted', text: 'every type' }),
            ),
            td('Last poll', timeEl(session.lastPollAt, { relative: true, empty: 'not yet' })),
            td('Expires', timeEl(session.expiresAt)),
            td('', end),
          );
        }),
      ),
    ),
  );
}

export function renderListen(main) {
  let alive = true;
  let timer = null;
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const body = h('div', {}, h('p', { class: 'loading', text: 'Loading listen sessions…' }));

  async function end(session, button) {
    setBusy(button, true, 'Ending…');
    try {
      await Api.endListen(session.sessionId);
      replace(messages, notice('ok', `Session ${session.sessionId} ended; its CLI stops receiving.`));
      load();
    } catch (error) {
      setBusy(button, false);
      replace(messages, notice('bad', error.message));
    }
  }

  async function load() {
    try {
      const { sessions } = await Api.listenSessions();
      if (!alive) return;
      replace(
        body,
        sessions.length
          ? table(sessions, end)
          : emptyState(
              'No listen sessions',
              null,
              h(
                'p',
                { class: 'empty-text' },
                'Run ',
                h('code', { class: 'mono', text: 'eventsapi listen --forward-to http://127.0.0.1:8000/hooks' }),
                ' to receive your live events on this machine; it shows here while it runs.',
              ),
            ),
      );
    } catch (error) {
      if (!alive || (error instanceof ApiError && error.status === 401)) return;
      replace(body, notice('bad', h('strong', { text: 'Could not load the listen sessions. ' }), error.message));
    } finally {
      if (alive) timer = setTimeout(load, POLL_MS);
    }
  }

  append(
    main,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title', text: 'Listen sessions' }),
        h('p', {
          class: 'page-lede',
          text: 'eventsapi listen forwards your live deliveries to a local URL, signed with the session’s secret. At most five at once; each expires two hours after its last poll.',
        }),
      ),
    ),
    messages,
    body,
  );
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
