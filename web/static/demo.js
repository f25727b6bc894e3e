// The 1v1 demo page: a TRTC-style call on trtcd's browser SDK.
import { createClient, TrtcdError } from '/sdk/trtcd.js';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { joined: false, error: null, client: null, layout: params.get('layout') || '1v1bigsmall' };
window.demo = state; // for automated tests and the curious

function showError(err) {
  const code = err instanceof TrtcdError ? err.code : '';
  const text = err instanceof TrtcdError ? err.reason : (err.message || String(err));
  state.error = { code, message: text };
  $('toast-code').textContent = code ? `Error ${code}` : 'Error';
  $('toast-text').textContent = text;
  $('toast').hidden = false;
}
$('toast-close').onclick = () => { $('toast').hidden = true; };

function setLayout(layout) {
  state.layout = layout;
  $('call').classList.toggle('bigsmall', layout === '1v1bigsmall');
  $('call').classList.toggle('horizontal', layout === '1v1horizontal');
  for (const b of document.querySelectorAll('[data-layout]')) b.classList.toggle('active', b.dataset.layout === layout);
  const local = $('local-tile');
  local.style.left = local.style.top = local.style.right = local.style.bottom = '';
  updateInvite();
}
for (const b of document.querySelectorAll('[data-layout]')) b.onclick = () => setLayout(b.dataset.layout);

// Development servers hand out userSigs for their development app, so a
// newcomer needs nothing but the link (and a press on Join).
async function devCredentials(userId) {
  try {
    const r = await fetch(`/dev/usersig?userId=${encodeURIComponent(userId)}`);
    return r.ok ? await r.json() : null;
  } catch { return null; }
}

function randomId(prefix) { return prefix + Math.random().toString(36).slice(2, 7); }

function updateInvite() {
  if (!state.joined) return;
  const u = new URL(location.href);
  u.search = '';
  u.searchParams.set('roomId', state.roomId);
  u.searchParams.set('layout', state.layout);
  if (!state.dev) u.searchParams.set('sdkAppId', state.sdkAppId);
  $('invite-link').value = u.toString();
  $('invite-open').href = u.toString();
}

async function start() {
  setLayout(state.layout);
  const roomId = params.get('roomId') || String(1000 + Math.floor(Math.random() * 9000));
  let creds = { sdkAppId: params.get('sdkAppId'), userId: params.get('userId'), userSig: params.get('userSig') };
  if (!creds.userSig) {
    const dev = await devCredentials(creds.userId || randomId('guest-'));
    if (dev) { creds = dev; state.dev = true; }
  }
  const form = $('join-form');
  form.roomId.value = roomId;
  form.userId.value = creds.userId || '';
  form.sdkAppId.value = creds.sdkAppId || '';
  form.userSig.value = creds.userSig || '';
  form.onsubmit = e => { e.preventDefault(); join(Object.fromEntries(new FormData(form))); };
  // A link only fills in the form: joining turns on the camera and the
  // microphone, which a site allowed once gets without asking again, so a
  // link from a stranger (with a userSig of theirs, for their room) must
  // not do it on its own. The person presses Join.
  $('join-button').disabled = false;
  $('join-button').focus();
}

async function join({ sdkAppId, userId, userSig, roomId }) {
  $('join-button').disabled = true;
  try {
    const client = createClient({ sdkAppId, userId, userSig });
    state.client = client;
    wire(client);
    const local = await client.createLocalStream();
    $('local-video').srcObject = local;
    await client.join({ roomId: Number(roomId), template: state.layout });
    Object.assign(state, { joined: true, roomId, sdkAppId, userId });
    $('join').hidden = true;
    $('call').hidden = $('controls').hidden = $('invite').hidden = false;
    $('room-label').innerHTML = `Room <b>${escapeHTML(roomId)}</b> · you are <b>${escapeHTML(userId)}</b>`;
    updateInvite();
    await client.publish(local);
  } catch (err) {
    showError(err);
    state.client?.leave();
    $('join-button').disabled = false;
  }
}

function wire(client) {
  client.on('remote-stream', ({ userId, stream, type }) => {
    state.remote = { ...(state.remote?.userId === userId ? state.remote : {}), userId, [type === 'sub' ? 'screen' : 'stream']: stream };
    showRemote();
  });
  client.on('remote-stream-removed', ({ userId }) => {
    if (state.remote?.userId !== userId) return;
    state.remote.screen = null;
    showRemote();
  });
  client.on('screen-stopped', () => $('share').setAttribute('aria-pressed', 'false'));
  client.on('member-join', ({ userId }) => { $('remote-name').textContent = userId; });
  client.on('member-quit', ({ userId }) => {
    if (state.remote?.userId === userId || $('remote-name').textContent === userId) clearRemote();
  });
  client.on('mute', m => { $('remote-muted').hidden = !m.audioMuted; });
  client.on('error', err => showError(err));
  client.on('force-offline', () => hangUp(false));
}

// showRemote puts the other person in the big tile; while they share
// their screen, the screen takes it and their camera (and voice) the
// small tile at the top.
function showRemote() {
  const { userId, stream, screen } = state.remote;
  $('remote-video').srcObject = screen || stream || null;
  $('remote-video').muted = !!screen; // the voice comes with the camera
  $('remote-tile').classList.toggle('screen', !!screen);
  $('remote-name').textContent = screen ? `${userId} · Screen` : userId;
  $('remote-tile').classList.add('has-video');
  $('pip-tile').hidden = !screen;
  $('pip-video').srcObject = screen ? stream || null : null;
  $('pip-name').textContent = userId;
}

function clearRemote() {
  state.remote = null;
  $('pip-tile').hidden = true;
  $('pip-video').srcObject = null;
  $('remote-tile').classList.remove('screen');
  $('remote-video').muted = false;
  $('remote-video').srcObject = null;
  $('remote-name').textContent = '';
  $('remote-tile').classList.remove('has-video');
  $('remote-muted').hidden = true;
}

function toggle(button, fn) {
  const on = button.getAttribute('aria-pressed') !== 'true';
  button.setAttribute('aria-pressed', String(on));
  fn(on).catch(showError);
}
$('mic').onclick = () => toggle($('mic'), m => state.client.muteAudio(m));
$('camera').onclick = () => toggle($('camera'), m => state.client.muteVideo(m));
$('switch').onclick = () => state.client.switchCamera().catch(showError);
$('hangup').onclick = () => hangUp(true);
$('share').onclick = async () => {
  try {
    if (state.client.screen) {
      await state.client.stopScreen();
    } else {
      await state.client.publishScreen();
      $('share').setAttribute('aria-pressed', 'true');
    }
  } catch (err) {
    showError(err);
  }
};

async function hangUp(leave) {
  if (leave) await state.client?.leave();
  state.joined = false;
  clearRemote();
  $('call').hidden = $('controls').hidden = $('invite').hidden = true;
  $('join').hidden = false;
  $('join-button').disabled = false;
  $('room-label').textContent = 'Not in a call';
}

// Drag the small local tile anywhere on the stage (1v1bigsmall).
(function draggable(tile) {
  let dx = 0, dy = 0, dragging = false;
  tile.addEventListener('pointerdown', e => {
    if (state.layout !== '1v1bigsmall') return;
    dragging = true; tile.classList.add('dragging'); tile.setPointerCapture(e.pointerId);
    const r = tile.getBoundingClientRect(); dx = e.clientX - r.left; dy = e.clientY - r.top;
  });
  tile.addEventListener('pointermove', e => {
    if (!dragging) return;
    const stage = $('call').getBoundingClientRect();
    const x = Math.min(Math.max(e.clientX - stage.left - dx, 0), stage.width - tile.offsetWidth);
    const y = Math.min(Math.max(e.clientY - stage.top - dy, 0), stage.height - tile.offsetHeight);
    Object.assign(tile.style, { left: `${x}px`, top: `${y}px`, right: 'auto', bottom: 'auto' });
  });
  tile.addEventListener('pointerup', () => { dragging = false; tile.classList.remove('dragging'); });
})($('local-tile'));

function escapeHTML(s) { return String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`); }

// Media statistics for tests: what this page receives and sends.
window.demoStats = async () => {
  const out = { inVideoFrames: 0, inAudioPackets: 0, outVideoBytes: 0 };
  const pcs = [...(state.client?.remote.values() || [])].map(r => r.pc);
  if (state.client?.publisher) pcs.push(state.client.publisher.pc);
  for (const pc of pcs) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.inVideoFrames += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inAudioPackets += s.packetsReceived || 0;
      if (s.type === 'outbound-rtp' && s.kind === 'video') out.outVideoBytes += s.bytesSent || 0;
    });
  }
  return JSON.stringify(out);
};

start();
