// The teacher's dashboard: click to enlarge, "Show" for flagged images, and the live queue's
// refresh, which stops (and says why) once the gateway no longer knows this page's login.
const box = document.getElementById('lightbox');
document.querySelectorAll('figure').forEach(figure => {
  const img = figure.querySelector('img');
  const reveal = figure.querySelector('button.reveal');
  if (reveal) reveal.addEventListener('click', () => {
    const shown = figure.classList.toggle('shown');
    reveal.textContent = shown ? 'Hide' : 'Show';
    reveal.setAttribute('aria-pressed', String(shown));
  });
  img.addEventListener('click', () => {
    if (figure.classList.contains('flagged') && !figure.classList.contains('shown')) return;
    box.querySelector('img').src = img.src;
    box.querySelector('p').textContent = img.dataset.caption;
    box.classList.add('open');
  });
});
box.addEventListener('click', () => box.classList.remove('open'));

const queue = document.getElementById('queue');
let timer = null;
function stopped() {
  clearInterval(timer);
  document.getElementById('restarted').hidden = false;
}
async function refresh() {
  let r;
  try { r = await fetch(document.body.dataset.root + '/dashboard/state.json', {credentials: 'same-origin'}); }
  catch (e) { return; }  // the gateway is down for a moment: try again next time
  if (r.status === 401) { stopped(); return; }  // a stale login: never send it again
  if (!r.ok) return;
  const s = await r.json();
  document.getElementById('running').textContent = s.running;
  document.getElementById('queued').textContent = s.queued;
  document.getElementById('limit').textContent = s.limit;
  queue.replaceChildren();
  for (const t of s.tasks) {
    const tr = document.createElement('tr');
    for (const v of [t.position ?? '–', t.student, t.status, t.model, t.prompt]) {
      const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
    }
    queue.appendChild(tr);
  }
}
if (queue) { refresh(); timer = setInterval(refresh, 2000); }
